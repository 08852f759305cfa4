"""`floorpulse board` and `floorpulse checkins` are registered, and bad tokens fail in one line."""

from __future__ import annotations

import pytest

from streams.cli import build_parser, main


def test_both_commands_are_registered() -> None:
    parser = build_parser()
    board = parser.parse_args(["board", "--port", "8123", "--prometheus", "http://p:9090"])
    assert (board.port, board.prometheus, board.host) == (8123, "http://p:9090", "127.0.0.1")
    checkins = parser.parse_args(["checkins", "--team", "team-01", "--follow", "--json"])
    assert (checkins.team, checkins.follow, checkins.json) == ("team-01", True, True)


def test_a_malformed_token_list_is_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FLOORPULSE_BOARD_TOKENS", "team-a=secret-one,team-b")
    assert main(["board", "--port", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "secret" not in err and "pair 2" in err
