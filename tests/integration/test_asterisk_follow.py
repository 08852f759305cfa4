"""`floorpulse connect asterisk --queue-log --follow` on floor-a's queue_log as Asterisk would
write it: growing a line (or half a line) at a time, the adapter killed and restarted, the log
rotated while it was down. What it sent, put together, gives the report of the whole file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from streams.analyze import analyze
from streams.processes import terminate
from tests.dialer_fixtures import dialer_path
from tests.integration.live import wait_for
from tests.producers.asterisk.views import FLOOR_A_TOML, PARAMS


def adapter(log: Path, *args: str, config: Path, checkpoint: Path) -> list[str]:
    return [
        *(sys.executable, "-m", "streams.cli", "connect", "asterisk", "--queue-log", str(log)),
        *("--follow", "--config", str(config), "--checkpoint", str(checkpoint), *args),
    ]


def append(path: Path, data: bytes) -> None:
    with path.open("ab") as out:
        out.write(data)


def checkpointed_lines(checkpoint: Path) -> int | None:
    """Lines of the file being read that the checkpoint has behind it, once it exists."""
    try:
        found: dict[str, Any] = json.loads(checkpoint.read_text())
    except (OSError, ValueError):
        return None
    return int(found["position"]["lines"])


def whole_lines(path: Path) -> list[bytes]:
    """The complete lines a sink wrote; a process killed while writing may leave half a line."""
    data = path.read_bytes()
    return data[: data.rfind(b"\n") + 1].splitlines()


def without_counts(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "events"}


def test_follow_survives_growth_a_kill_and_rotation(tmp_path: Path) -> None:
    whole = dialer_path("asterisk", "floor-a", "queue_log").read_bytes().splitlines(keepends=True)
    config, checkpoint = tmp_path / "floor.toml", tmp_path / "checkpoint.json"
    config.write_text(FLOOR_A_TOML)
    log = tmp_path / "queue_log"
    log.write_bytes(b"".join(whole[:60]))
    first_out, second_out = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    command = adapter(log, "--out", str(first_out), config=config, checkpoint=checkpoint)
    with (tmp_path / "first.err").open("wb") as err:
        first = subprocess.Popen(command, env=env, stderr=err, start_new_session=True)
    try:
        wait_for("the first 60 lines", lambda: checkpointed_lines(checkpoint) == 60 or None)
        for line in whole[60:120]:
            append(log, line)
        half = len(whole[120]) // 2
        append(log, whole[120][:half])  # Asterisk in the middle of writing a line
        wait_for("120 lines", lambda: checkpointed_lines(checkpoint) == 120 or None)
        append(log, whole[120][half:])
        wait_for("121 lines", lambda: checkpointed_lines(checkpoint) == 121 or None)
    finally:
        terminate(first, signal.SIGKILL)
    # Down: Asterisk goes on, then the log is rotated and a new one begun.
    append(log, b"".join(whole[121:180]))
    log.rename(tmp_path / "queue_log.1")
    log.write_bytes(b"".join(whole[180:200]))

    command = adapter(log, "--out", str(second_out), "--until-idle", "3", config=config,
                      checkpoint=checkpoint)  # fmt: skip
    second = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
    try:
        wait_for("the new log's 20 lines", lambda: checkpointed_lines(checkpoint) == 20 or None)
        append(log, b"".join(whole[200:]))
        _, err = second.communicate(timeout=120)
    finally:
        terminate(second, signal.SIGKILL)
    assert second.returncode == 0, err.decode()
    notes = err.decode()
    assert f"resuming in {tmp_path / 'queue_log.1'}, the file {log} was rotated to" in notes

    sent = whole_lines(first_out) + whole_lines(second_out)
    reference = tmp_path / "whole.jsonl"
    subprocess.run(
        [sys.executable, "-m", "streams.cli", "connect", "asterisk", "--queue-log",
         str(dialer_path("asterisk", "floor-a", "queue_log")), "--config", str(config),
         "--out", str(reference)],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    expected = analyze(reference.read_bytes().splitlines(), PARAMS)
    got = analyze(sent, PARAMS)
    assert without_counts(got) == without_counts(expected)
    assert got["events"]["valid"] - got["events"]["duplicate"] == expected["events"]["valid"]
    assert got["events"]["invalid"] == 0
