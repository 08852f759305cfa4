"""`floorpulse worker`'s settings are checked before anything starts: each problem is one line
that says what to fix, never a traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def worker(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", "worker", *args],
        env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": "127.0.0.1:9", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def one_line(result: subprocess.CompletedProcess[str], *parts: str) -> None:
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for part in parts:
        assert part in result.stderr


def test_a_data_dir_that_cannot_be_created_fails_at_start_saying_what_to_fix(
    tmp_path: Path,
) -> None:
    not_a_dir = tmp_path / "a-file"
    not_a_dir.write_text("")
    one_line(
        worker("--data-dir", str(not_a_dir / "state")),
        "FLOORPULSE_DATA_DIR / --data-dir: cannot write in",
        "give a directory this user may write",
    )


def test_a_data_dir_that_exists_but_is_not_writable_fails_at_start() -> None:
    # sysfs refuses new files even to root, as a read-only mount would.
    one_line(worker("--data-dir", "/sys"), "cannot write in /sys", "this user may write")


def test_a_web_port_in_use_fails_at_start() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        one_line(
            worker("--web-port", str(port)),
            f"cannot serve on 127.0.0.1:{port}",
            "choose a free port",
        )


@pytest.mark.parametrize("bind", ["192.0.2.1", "no-such-host.invalid"])
def test_a_bind_address_not_of_this_machine_fails_at_start(bind: str) -> None:
    one_line(worker(FLOORPULSE_WEB_BIND=bind), f"cannot serve on {bind}:", "FLOORPULSE_WEB_BIND")


def test_a_bad_configuration_fails_at_start(tmp_path: Path) -> None:
    config = tmp_path / "floor.toml"
    config.write_text("[thresholds]\nstreak_n = 0\n")
    one_line(worker("--config", str(config)), "thresholds.streak_n (line 2)")


@pytest.mark.parametrize("days", ["0.5", "a month"])
def test_a_retention_of_less_than_a_day_or_no_number_fails_at_start(days: str) -> None:
    one_line(worker(FLOORPULSE_RETENTION_DAYS=days), "FLOORPULSE_RETENTION_DAYS")
