"""`floorpulse kafka`: the running broker answers, the topics are right, and starts are safe."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

import pytest

from streams.localkafka import (
    JAVA_MISSING,
    MAVEN_MISSING,
    DataDir,
    free_ports,
    recorded_bootstrap,
    running_pid,
)
from streams.settings import Settings
from streams.topics import AGENT_EVENTS, CALL_EVENTS, CHECKINS, DEAD_LETTER
from streams.topics_admin import DAY_MS, list_topics, partition_counts, topic_config

ROOT: Final = Path(__file__).resolve().parents[2]
MAIN_DATA_DIR: Final = ROOT / ".floorpulse" / "kafka"
TOPICS: Final = (AGENT_EVENTS, CALL_EVENTS, DEAD_LETTER, CHECKINS)
MAIN: Final = "import sys; from streams.cli import main; sys.exit(main())"


def floorpulse(
    *args: str, env: Mapping[str, str] | None = None, timeout_s: float = 180.0
) -> subprocess.CompletedProcess[str]:
    """Run the console script's main in a fresh interpreter, as a person would from ROOT."""
    return subprocess.run(
        [sys.executable, "-c", MAIN, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=timeout_s,
        check=False,
    )


@pytest.mark.kafka
def test_status_answers(bootstrap: str) -> None:
    done = floorpulse("kafka", "status", env={"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap})

    assert done.returncode == 0, done.stdout + done.stderr
    assert f"a broker answers at {bootstrap}" in done.stdout


@pytest.mark.kafka
def test_topics_have_the_configured_partitions(bootstrap: str, settings: Settings) -> None:
    counts = partition_counts(bootstrap, TOPICS, timeout_s=10.0)

    assert counts == dict.fromkeys(TOPICS, settings.partitions)


@pytest.mark.kafka
def test_checkins_are_kept_one_day(bootstrap: str) -> None:
    config = topic_config(bootstrap, CHECKINS, timeout_s=10.0)

    assert config["retention.ms"] == str(DAY_MS)
    assert config["cleanup.policy"] == "delete"


@pytest.mark.kafka
def test_starting_again_is_harmless(bootstrap: str) -> None:
    layout = DataDir.at(MAIN_DATA_DIR)
    pid = running_pid(layout)
    if pid is None or recorded_bootstrap(layout) != bootstrap:
        pytest.skip(f"the broker at {bootstrap} was not started from {MAIN_DATA_DIR}")
    topics_before = list_topics(bootstrap, timeout_s=10.0)

    done = floorpulse("kafka", "start", env={"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap})

    assert done.returncode == 0, done.stdout + done.stderr
    assert "already running" in done.stdout
    assert f"bootstrap: {bootstrap}" in done.stdout
    assert running_pid(layout) == pid
    assert list_topics(bootstrap, timeout_s=10.0) == topics_before


def test_start_without_java_says_what_to_install(tmp_path: Path) -> None:
    empty_bin = tmp_path / "bin"
    empty_bin.mkdir()

    done = floorpulse(
        "kafka", "start", "--data-dir", str(tmp_path / "kafka"), env={"PATH": str(empty_bin)}
    )

    assert done.returncode != 0
    assert f"floorpulse kafka start: {JAVA_MISSING}" in done.stderr
    assert not (tmp_path / "kafka" / "broker.pid").exists()


def test_start_without_maven_says_what_to_install(tmp_path: Path) -> None:
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed here")
    java_only = tmp_path / "bin"
    java_only.mkdir()
    (java_only / "java").symlink_to(java)
    port, controller_port = free_ports(2)

    done = floorpulse(
        "kafka", "start", "--data-dir", str(tmp_path / "kafka"),
        "--port", str(port), "--controller-port", str(controller_port),
        # An empty jar cache, so that this start would have to resolve with Maven.
        env={"PATH": str(java_only), "XDG_CACHE_HOME": str(tmp_path / "cache")},
    )  # fmt: skip

    assert done.returncode != 0
    assert f"floorpulse kafka start: {MAVEN_MISSING}" in done.stderr
    assert not (tmp_path / "kafka" / "broker.pid").exists()


@pytest.mark.kafka
def test_a_second_broker_starts_answers_and_stops(tmp_path: Path) -> None:
    port, controller_port = free_ports(2)
    data_dir = tmp_path / "kafka"
    env = {"FLOORPULSE_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}", "FLOORPULSE_PARTITIONS": "2"}
    start = (
        "kafka", "start", "--data-dir", str(data_dir),
        "--port", str(port), "--controller-port", str(controller_port),
    )  # fmt: skip
    stop = ("kafka", "stop", "--data-dir", str(data_dir), "--wipe")
    try:
        started = floorpulse(*start, env=env)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"bootstrap: 127.0.0.1:{port}" in started.stdout

        status = floorpulse("kafka", "status", "--data-dir", str(data_dir), env=env)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "is alive" in status.stdout
        assert partition_counts(f"127.0.0.1:{port}", TOPICS, timeout_s=10.0) == dict.fromkeys(
            TOPICS, 2
        )
    finally:
        stopped = floorpulse(*stop, env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "terminated" in stopped.stdout or "killed" in stopped.stdout
    assert not data_dir.exists()

    after = floorpulse("kafka", "status", "--data-dir", str(data_dir), env=env)
    assert after.returncode == 1
    assert f"no broker answers at 127.0.0.1:{port}" in after.stdout
