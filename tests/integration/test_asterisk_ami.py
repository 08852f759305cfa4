"""`floorpulse connect asterisk --ami` against an AMI of the test's own on loopback that replays
floor-a's AMI stream: a real login exchange, a refused secret, a dropped connection."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from streams.localkafka import free_ports
from tests.dialer_fixtures import dialer_path
from tests.producers.asterisk.fake_ami import FakeAmi, connect
from tests.producers.asterisk.views import FLOOR_A_TOML, capture_events, encoded

USER, SECRET = "floorpulse", "s3cret-Tr0mb0ne"


@pytest.fixture
def capture() -> Path:
    return dialer_path("asterisk", "floor-a", "ami.txt")


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "floor.toml"
    path.write_text(FLOOR_A_TOML)
    return path


@pytest.fixture
def ami(capture: Path) -> Iterator[FakeAmi]:
    server = FakeAmi(capture, USER, SECRET, drop_halfway=True).start()
    try:
        yield server
    finally:
        server.stop()


def test_a_wrong_secret_is_one_clear_line_and_no_retry(ami: FakeAmi, tmp_path: Path) -> None:
    done = connect(ami, "not-the-secret", "--out", str(tmp_path / "out.jsonl"))
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"floorpulse connect asterisk: the AMI at 127.0.0.1:{ami.port} refused user "
        "'floorpulse': Authentication failed (check the user in manager.conf and the secret in "
        "FLOORPULSE_AMI_SECRET)"
    ]
    assert "not-the-secret" not in done.stderr + done.stdout
    assert ami.logins == ["refused"]


def test_a_dropped_connection_loses_nothing_and_repeats_nothing(
    ami: FakeAmi, capture: Path, config: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out.jsonl"
    done = connect(ami, SECRET, "--config", str(config), "--until-idle", "3", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert (ami.logins, ami.drops, ami.cursor) == (["accepted", "accepted"], 1, len(ami.blocks))
    lines = done.stderr.splitlines()
    assert (
        f"the AMI at 127.0.0.1:{ami.port}: the connection closed; trying again in 0.5 s"
        in (lines[0])
    )
    assert lines[1].endswith(
        "connected again to the AMI at 127.0.0.1:"
        f"{ami.port}: its QueueStatus settles what changed meanwhile"
    )
    assert lines[2].endswith("1 reconnect(s), --until-idle reached"), lines
    expected = encoded(capture_events(capture)[0])
    got = out.read_bytes().splitlines()
    assert len(got) == len(set(got)) == len(expected)
    assert sorted(got) == sorted(expected)
    assert SECRET not in done.stderr


def test_an_ami_never_reached_is_said_and_fails(tmp_path: Path) -> None:
    (port,) = free_ports(1)  # nothing listens there
    command = [sys.executable, "-m", "streams.cli", "connect", "asterisk", "--ami",
               f"127.0.0.1:{port}", "--ami-user", USER, "--until-idle", "2", "--out",
               str(tmp_path / "out.jsonl")]  # fmt: skip
    env = {**os.environ, "FLOORPULSE_AMI_SECRET": SECRET}
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    assert lines[0] == (
        f"floorpulse connect asterisk: the AMI at 127.0.0.1:{port}: cannot connect "
        "(Connection refused); trying again in 0.5 s"
    )
    assert lines[-1] == f"  FAILED: the AMI at 127.0.0.1:{port} was never reached"
