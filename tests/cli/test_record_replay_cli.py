"""`floorpulse record` and `replay` as a user runs them, where no broker is needed: help, bad
arguments, a missing file or broker (the rest: tests/integration/test_record_replay.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

NO_BROKER = "127.0.0.1:1"
"""A port where nothing listens: a connection is refused at once."""


def floorpulse(
    *args: str, bootstrap: str = NO_BROKER, cwd: Path | None = None, **environ: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=os.environ | {"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap} | environ,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("command", ["record", "replay"])
def test_help_explains_with_examples(command: str) -> None:
    done = floorpulse(command, "--help")
    assert done.returncode == 0
    assert "Examples:" in done.stdout
    assert f"floorpulse {command} day.jsonl.gz" in done.stdout
    assert "FLOORPULSE_KAFKA_BOOTSTRAP" in done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["replay", "x.jsonl", "--from", "yesterday"],
        ["replay", "x.jsonl", "--speed", "0"],
        ["replay", "x.jsonl", "--from", "2026-01-05T10:00Z", "--to", "2026-01-05T09:00Z"],
        ["replay", "x.jsonl", "--from-line", "0"],
        ["replay", "x.jsonl", "--from-line", "ten"],
        ["replay", "x.jsonl", "--retry-for", "soon"],
        ["replay", "x.jsonl", "--retry-for", "0.5s"],
        ["record", "x.jsonl", "--retry-for", "-5m"],
        ["record", "x.jsonl", "--until-idle", "0"],
        ["record", "x.jsonl", "--since", "now-1h", "--from-beginning"],
        ["record", "x.jsonl", "--since", "now", "--until", "now-1h"],
        ["record", "x.jsonl", "--since", "1767600000"],
    ],
)
def test_bad_arguments_exit_2_before_anything_is_touched(args: list[str], tmp_path: Path) -> None:
    done = floorpulse(*args, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip()
    assert not (tmp_path / "x.jsonl").exists()


def test_a_time_that_cannot_be_read_names_the_forms(tmp_path: Path) -> None:
    done = floorpulse("record", "x.jsonl", "--since", "yesterday", cwd=tmp_path)
    assert "ISO time" in done.stderr
    assert "now-2h" in done.stderr


def test_a_missing_log_is_named_before_any_broker_is_asked(tmp_path: Path) -> None:
    done = floorpulse("replay", str(tmp_path / "missing.jsonl"))
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1
    assert "missing.jsonl" in done.stderr


@pytest.mark.parametrize("command", ["record", "replay"])
def test_without_a_broker_it_says_what_to_do(command: str, tmp_path: Path) -> None:
    log = tmp_path / "day.jsonl"
    if command == "replay":
        log.write_text('{"type": "agent.state", "agent_id": "a1"}\n')
    done = floorpulse(command, str(log))
    assert done.returncode == 1
    assert NO_BROKER in done.stderr
    assert "floorpulse kafka start" in done.stderr
    if command == "record":
        assert not log.exists()  # nothing to record: no file made (or emptied)


def test_a_bad_broker_setting_is_named(tmp_path: Path) -> None:
    done = floorpulse("record", "x.jsonl", bootstrap="nowhere", cwd=tmp_path)
    assert done.returncode == 2
    assert "FLOORPULSE_KAFKA_BOOTSTRAP" in done.stderr


@pytest.mark.parametrize("command", ["record", "replay"])
def test_a_bad_retry_setting_is_named(command: str, tmp_path: Path) -> None:
    (tmp_path / "x.jsonl").write_text("")
    done = floorpulse(command, "x.jsonl", cwd=tmp_path, FLOORPULSE_KAFKA_RETRY_FOR="forever")
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "FLOORPULSE_KAFKA_RETRY_FOR" in done.stderr and "'forever'" in done.stderr


@pytest.mark.parametrize("command", ["record", "replay"])
def test_help_tells_how_an_outage_is_waited_for(command: str) -> None:
    done = floorpulse(command, "--help")
    assert "--retry-for DURATION" in done.stdout
    assert "FLOORPULSE_KAFKA_RETRY_FOR" in done.stdout
    text = " ".join(done.stdout.split())
    assert "unreachable, then one a minute while the outage lasts" in text


def test_replaying_an_old_log_as_it_is_warns_before_sending(tmp_path: Path) -> None:
    basic = Path(__file__).resolve().parents[1] / "data" / "scenarios" / "basic.jsonl"
    done = floorpulse("replay", str(basic))
    warning = next(line for line in done.stderr.splitlines() if "warning" in line)
    assert warning.startswith("floorpulse replay: warning: this log's events begin ")
    assert "days ago" in warning
    assert "--shift-to-now" in warning
    assert done.stderr.index("warning") < done.stderr.index(NO_BROKER)
    # Shifted to now, or stamped now: nothing to warn of.
    assert "warning" not in floorpulse("replay", str(basic), "--shift-to-now").stderr
    recent = tmp_path / "now.jsonl"
    recent.write_text(f'{{"type": "agent.state", "ts": {time.time_ns() // 1_000_000}}}\n')
    assert "warning" not in floorpulse("replay", str(recent)).stderr
