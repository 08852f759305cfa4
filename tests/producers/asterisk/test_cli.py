"""`floorpulse connect asterisk` with files: options, the summary, and one-line errors."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from streams.analyze import analyze
from streams.cli import main
from tests.dialer_fixtures import dialer_path
from tests.producers.asterisk.views import FLOOR_A_TOML, PARAMS, capture_events, encoded


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "floor.toml"
    path.write_text(FLOOR_A_TOML)
    return path


def connect(*args: str) -> int:
    return main(["connect", "asterisk", *args])


def test_help_tells_every_source(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        connect("--help")
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for option in ("--queue-log", "--ami HOST:PORT", "--ami-capture", "--follow", "--until-idle"):
        assert option in text
    assert "FLOORPULSE_AMI_SECRET" in text and "[sources.asterisk]" in text


def test_a_capture_to_a_file_gives_the_capture_events(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capture = dialer_path("asterisk", "floor-a", "ami.txt")
    out = tmp_path / "events.jsonl.gz"
    assert connect("--ami-capture", str(capture), "--config", str(config), "--out", str(out)) == 0
    summary = capsys.readouterr().err.splitlines()
    assert summary[0].startswith(f"floorpulse connect asterisk: 440 events to {out} (agent 221,")
    assert "from the AMI capture" in summary[0] and "7,127 events, 435 translated" in summary[0]
    assert summary[1].startswith("  6,434 event(s) of kinds it does not use: VarSet 2,501,")
    written = gzip.decompress(out.read_bytes()).splitlines()
    assert written == encoded(capture_events(capture)[0])


def test_a_queue_log_with_lines_it_cannot_translate(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "queue_log"
    original = dialer_path("asterisk", "floor-a", "queue_log").read_bytes()
    log.write_bytes(original + b"garbage\n1796400200|x|sales|agent101|FROB|1\n")
    out = tmp_path / "events.jsonl"
    assert connect("--queue-log", str(log), "--config", str(config), "--out", str(out)) == 0
    err = capsys.readouterr().err.splitlines()
    assert "278 lines, 268 translated, 8 with nothing for floorpulse, 2 left out" in err[0]
    assert err[1:] == [
        "  1 line(s) of verb(s) it does not know: FROB 1",
        "  1 line(s) could not be translated",
        "  line 277: 1 field(s), not epoch|callid|queue|agent|VERB|data...",
        "  line 278: unknown 'FROB'",
    ]
    report = analyze(out.read_bytes().splitlines(), PARAMS)
    assert report["campaigns"]["sales"]["inbound"]["queued"] == 43


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--ami-capture", "x", "--follow"], "--follow is for --queue-log"),
        (["--queue-log", "x", "--until-idle", "5"], "--until-idle is for the live sources"),
        (["--ami", "pbx:5038"], "--ami needs --ami-user USER"),
        (["--queue-log", "x", "--ami-user", "u"], "--ami-user is for --ami"),
        (["--ami", "pbx:5038", "--ami-user", "u"], "--ami needs the user's secret in"),
    ],
)
def test_options_that_do_not_go_together(
    args: list[str],
    problem: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOORPULSE_AMI_SECRET", raising=False)
    assert connect(*args) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(f"floorpulse connect asterisk: {problem}")


def test_a_bad_configuration_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "floor.toml"
    bad.write_text("[sources.asterisk]\nwrapup = 8\n")
    assert connect("--queue-log", str(bad), "--config", str(bad), "--out", "-") == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.endswith(
        "sources.asterisk.wrapup (line 2): unknown key: check its spelling and its section"
    )


def test_a_missing_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert connect("--queue-log", str(tmp_path / "none"), "--out", "-") == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == f"floorpulse connect asterisk: cannot read {tmp_path / 'none'}: no such file"


def test_a_whole_queue_log_keeps_a_checkpoint_only_when_asked(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log = dialer_path("asterisk", "floor-a", "queue_log")
    kept = tmp_path / "cp.json"
    args = ["--queue-log", str(log), "--config", str(config), "--checkpoint", str(kept)]
    assert connect(*args, "--out", str(tmp_path / "1.jsonl")) == 0
    assert json.loads(kept.read_text())["position"]["lines"] == 276
    assert connect(*args, "--out", str(tmp_path / "2.jsonl")) == 0
    assert (tmp_path / "2.jsonl").read_bytes() == b""
    assert capsys.readouterr().err.splitlines()[-1] == f"  checkpoint: {kept}"
