"""Team tokens from the environment: parsed strictly, compared in constant time, never shown."""

from __future__ import annotations

import pytest

from streams.board.tokens import parse, team_of
from streams.errors import SettingsError


def test_pairs_are_parsed() -> None:
    assert parse("team-a=secret-one, team-b=secret-two,") == {
        "team-a": "secret-one",
        "team-b": "secret-two",
    }
    assert parse("") == {}


@pytest.mark.parametrize("text", ["team-a", "=secret-one", "team-a=short", "a=secret-1,a=secret-2"])
def test_a_bad_pair_is_one_line_without_the_token(text: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "secret" not in message and "=short" not in message


def test_a_token_opens_its_own_team_only() -> None:
    tokens = {"team-a": "secret-one", "team-b": "secret-two"}
    assert team_of(tokens, "secret-two") == "team-b"
    assert team_of(tokens, "secret-on") is None
    assert team_of(tokens, "") is None
