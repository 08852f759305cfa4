"""`record` and `replay` while the broker goes away: a broker of each test's own, stopped and
started again on the same ports and data, the commands run as a user runs them.

Each says the broker is unreachable within seconds, keeps waiting for --retry-for, and either
goes on where it was once the broker is back (nothing lost, nothing doubled) or gives up saying
where to resume, which then completes the work. Their logs hold one line when the outage starts
and one when it ends, whatever the Kafka clients say meanwhile; so does a consumer's log with the
filter a worker installs (streams.outage_log).
"""

from __future__ import annotations

import collections
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pytest

from producers.floor import MINUTE, FloorConfig
from producers.simulator import simulate
from producers.when import wall_ms
from streams.codec import encode
from streams.localkafka import Ports, free_ports, start, stop
from streams.logfile import open_log
from streams.processes import terminate
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from streams.topics_admin import ensure_topics
from tests.integration.live import consume_until, produce_lines, wait_for

pytestmark = pytest.mark.kafka

START_MS: Final = 1_767_700_000_000
NOTICED_S: Final = 30.0
"""How soon after the broker stops a command must say so (3 s here, with room for a busy CI)."""
UNREACHABLE: Final = re.compile(r"^floorpulse \w+: Kafka at \S+ unreachable \(", re.MULTILINE)
BACK: Final = re.compile(r"^floorpulse \w+: Kafka at \S+ reachable again after ", re.MULTILINE)


@dataclass
class Broker:
    """A broker of the test's own that it may stop and start again, on the same ports."""

    data_dir: Path
    ports: Ports

    @property
    def bootstrap(self) -> str:
        return self.ports.bootstrap

    def start(self) -> None:
        start(self.data_dir, self.ports, timeout_s=180.0)

    def stop(self) -> None:
        stop(self.data_dir, timeout_s=60.0)


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    own = Broker(tmp_path / "kafka", Ports(*free_ports(2)))
    own.start()
    try:
        ensure_topics(own.bootstrap, 6)
        yield own
    finally:
        stop(own.data_dir, wipe=True)


@dataclass
class Command:
    """`floorpulse ...` running in the background, its standard error in a file."""

    process: subprocess.Popen[bytes]
    err: Path
    started: float = field(default_factory=time.monotonic)

    def stderr(self) -> str:
        return self.err.read_text(errors="replace")

    def said(self, pattern: re.Pattern[str]) -> bool | None:
        """True once standard error holds `pattern`; fails if the command ended without it."""
        if pattern.search(self.stderr()):
            return True
        assert self.process.poll() is None, f"ended without saying it: {self.stderr()}"
        return None

    def wait(self, timeout_s: float = 180.0) -> tuple[int, str]:
        return self.process.wait(timeout=timeout_s), self.stderr()


@pytest.fixture
def commands(tmp_path: Path) -> Iterator[list[Command]]:
    """Commands started by the test; every one still running is stopped afterwards."""
    started: list[Command] = []
    try:
        yield started
    finally:
        for command in started:
            terminate(command.process, signal.SIGKILL)


def floorpulse(
    commands: list[Command], bootstrap: str, tmp_path: Path, *args: str, cwd: Path | None = None
) -> Command:
    err = tmp_path / f"stderr-{len(commands)}.txt"
    with err.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", *args],
            env=os.environ | {"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=cwd,
        )
    command = Command(process, err)
    commands.append(command)
    return command


def simulated_log(path: Path, minutes: int) -> list[bytes]:
    config = FloorConfig(
        agents=16, teams=4, campaigns=4, duration_ms=minutes * MINUTE, start_ms=START_MS
    )
    lines = [encode(event) for event in simulate(config, random.Random(11))]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return lines


def in_topics(bootstrap: str, at_least: int) -> list[bytes]:
    """Every value in both dialer topics, once at least `at_least` are there."""
    wait_for(f"{at_least} messages", lambda: count_in_topics(bootstrap) >= at_least or None)
    values: list[bytes] = []
    for topic in (AGENT_EVENTS, CALL_EVENTS):
        messages = consume_until(bootstrap, topic, "all", lambda read: True)
        values += [m.value for m in messages if m.value is not None]
    return values


def count_in_topics(bootstrap: str) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in (AGENT_EVENTS, CALL_EVENTS)
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        return sum(consumer.end_offsets(partitions).values())
    finally:
        consumer.close()


def resume_command(stderr: str, after: str) -> list[str]:
    """The command a failed run names after `after`, as arguments for `python -m streams.cli`."""
    found = re.search(re.escape(after) + r" (floorpulse [^\n(]+?)(?: \(|$)", stderr, re.MULTILINE)
    assert found is not None, stderr
    words = shlex.split(found[1])
    assert words[0] == "floorpulse"
    return words[1:]


# replay -----------------------------------------------------------------------------------------


def test_replay_waits_out_an_outage_and_the_broker_gets_every_line_once(
    broker: Broker, commands: list[Command], tmp_path: Path
) -> None:
    log = tmp_path / "day.jsonl"
    lines = simulated_log(log, minutes=120)
    replay = floorpulse(
        commands, broker.bootstrap, tmp_path, "replay", str(log), "--speed", "400",
        "--retry-for", "5m",
    )  # fmt: skip
    wait_for("some lines in Kafka", lambda: count_in_topics(broker.bootstrap) > 500 or None)

    broker.stop()
    stopped = time.monotonic()
    wait_for("the replay to say the broker is unreachable", lambda: replay.said(UNREACHABLE))
    noticed_s = time.monotonic() - stopped
    broker.start()
    status, stderr = replay.wait()

    assert status == 0, stderr
    assert noticed_s < NOTICED_S
    said = [line for line in stderr.splitlines() if not line.startswith("  ")]
    assert said[0].startswith("floorpulse replay: warning: this log's events begin"), stderr
    said = said[1:]  # the simulated day is an old one
    assert len(said) == 3, stderr  # unreachable, reachable again, the summary
    assert UNREACHABLE.match(said[0]) and BACK.match(said[1]), stderr
    assert f"{len(lines):,} lines to Kafka" in said[2]
    # Idempotent retries: nothing lost, nothing written twice.
    assert collections.Counter(in_topics(broker.bootstrap, len(lines))) == collections.Counter(
        lines
    )


def test_replay_gives_up_naming_the_line_from_which_a_resumed_replay_completes_the_log(
    broker: Broker, commands: list[Command], tmp_path: Path
) -> None:
    log = tmp_path / "day.jsonl"
    lines = simulated_log(log, minutes=120)
    replay = floorpulse(
        commands, broker.bootstrap, tmp_path, "replay", str(log), "--speed", "400",
        "--retry-for", "8s",
    )  # fmt: skip
    wait_for("some lines in Kafka", lambda: count_in_topics(broker.bootstrap) > 500 or None)

    broker.stop()
    status, stderr = replay.wait()
    assert status == 1, stderr
    assert UNREACHABLE.search(stderr)
    gave_up = r"line [\d,]+ waited 8s for the broker to take it \(--retry-for\): gave up"
    assert re.search(gave_up, stderr), stderr
    # The warning that the simulated day is an old one, unreachable, the summary, the failure.
    assert stderr.count("\n") == 4, stderr
    resume = resume_command(stderr, "Resume with:")
    assert resume[-2] == "--from-line"
    first = int(resume[-1])

    broker.start()
    done = floorpulse(commands, broker.bootstrap, tmp_path, *resume)
    status, stderr = done.wait()
    assert status == 0, stderr

    got = collections.Counter(in_topics(broker.bootstrap, len(lines)))
    assert set(got) == set(lines)
    # Only lines from the one named may be there twice.
    assert {data for data, n in got.items() if n > 1} <= set(lines[first - 1 :])
    assert all(n <= 2 for n in got.values())


def test_a_second_ctrl_c_during_an_outage_gives_up_at_once_naming_the_line(
    broker: Broker, commands: list[Command], tmp_path: Path
) -> None:
    log = tmp_path / "day.jsonl"
    simulated_log(log, minutes=120)
    replay = floorpulse(
        commands, broker.bootstrap, tmp_path, "replay", str(log), "--speed", "400",
        "--retry-for", "10m",
    )  # fmt: skip
    wait_for("some lines in Kafka", lambda: count_in_topics(broker.bootstrap) > 500 or None)
    broker.stop()
    wait_for("the replay to say the broker is unreachable", lambda: replay.said(UNREACHABLE))

    replay.process.send_signal(signal.SIGINT)
    waiting = re.compile(r"stopping once the broker has taken the [\d,]+ lines sent; Ctrl-C again")
    wait_for("the replay to say what it waits for", lambda: replay.said(waiting))
    replay.process.send_signal(signal.SIGINT)
    status, stderr = replay.wait(timeout_s=60)

    assert status == 130, stderr
    assert "stopped at once on a second request" in stderr
    assert resume_command(stderr, "Resume with:")[-2] == "--from-line"
    assert "Traceback" not in stderr


# record -----------------------------------------------------------------------------------------


def test_record_waits_out_an_outage_and_an_outage_is_no_idleness(
    broker: Broker, commands: list[Command], tmp_path: Path
) -> None:
    lines = simulated_log(tmp_path / "day.jsonl", minutes=60)
    half = len(lines) // 2
    produce_lines(broker.bootstrap, lines[:half])
    out = tmp_path / "back.jsonl"
    recording = floorpulse(
        commands, broker.bootstrap, tmp_path, "record", str(out), "--from-beginning",
        "--until-idle", "15s", "--retry-for", "5m",
    )  # fmt: skip
    # Caught up, the recording flushes what it read.
    wait_for("the first half in the file", lambda: has(out, half))

    broker.stop()
    stopped = time.monotonic()
    wait_for("the recording to say the broker is unreachable", lambda: recording.said(UNREACHABLE))
    assert time.monotonic() - stopped < NOTICED_S
    broker.start()
    wait_for("the recording to say the broker is back", lambda: recording.said(BACK))
    produce_lines(broker.bootstrap, lines[half:])
    status, stderr = recording.wait()

    assert status == 0, stderr
    assert "--until-idle reached" in stderr
    assert stderr.count("\n") == 3, stderr  # unreachable, reachable again, the summary
    assert collections.Counter(read(out)) == collections.Counter(lines)


def test_record_gives_up_naming_the_time_from_which_a_resumed_recording_completes_it(
    broker: Broker, commands: list[Command], tmp_path: Path
) -> None:
    lines = simulated_log(tmp_path / "day.jsonl", minutes=60)
    half = len(lines) // 2
    since = str(wall_ms())
    produce_lines(broker.bootstrap, lines[:half])
    out = tmp_path / "back.jsonl"
    recording = floorpulse(
        commands, broker.bootstrap, tmp_path, "record", str(out), "--since", since,
        "--until-idle", "15s", "--retry-for", "6s",
    )  # fmt: skip
    wait_for("the first half in the file", lambda: has(out, half))

    broker.stop()
    status, stderr = recording.wait()
    assert status == 1, stderr
    assert UNREACHABLE.search(stderr)
    assert "gave up (--retry-for 6s)" in stderr and "next offsets: dialer." in stderr
    resume = resume_command(stderr, "Record the rest with:")
    assert resume[1] == str(tmp_path / "back-resumed.jsonl") and resume[2] == "--since"

    broker.start()
    produce_lines(broker.bootstrap, lines[half:])
    done = floorpulse(commands, broker.bootstrap, tmp_path, *resume)
    status, stderr = done.wait()
    assert status == 0, stderr

    first, rest = read(out), read(tmp_path / "back-resumed.jsonl")
    assert collections.Counter(first) == collections.Counter(lines[:half])
    assert set(first + rest) == set(lines)
    assert set(rest) >= set(lines[half:])


def has(path: Path, count: int) -> bool | None:
    return (path.exists() and len(read(path)) == count) or None


def read(path: Path) -> list[bytes]:
    with open_log(str(path)) as lines:
        return [line.rstrip(b"\n") for line in lines]


# the filter a worker installs -------------------------------------------------------------------


def test_a_worker_with_the_filter_logs_an_outage_in_a_few_lines(
    broker: Broker, tmp_path: Path
) -> None:
    out = tmp_path / "worker.log"
    port = free_ports(1)[0]
    with out.open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "streams.cli", "worker", "--web-port", str(port)],
            env=os.environ | {"FLOORPULSE_KAFKA_BOOTSTRAP": broker.bootstrap},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        # An event applied: the worker has its partitions, past its start.
        produce_lines(broker.bootstrap, simulated_log(tmp_path / "day.jsonl", minutes=1)[:1])
        wait_for("an event applied", lambda: applied(port) or None, deadline_s=180)
        before = len(text(out).splitlines())
        broker.stop()
        wait_for("the outage to start", lambda: "Kafka unreachable" in text(out) or None)
        broker.start()
        wait_for("the outage to end", lambda: "connection errors ended" in text(out) or None)
    finally:
        terminate(worker)
    logged = [line.split("] ", 3)[-1] for line in text(out).splitlines()[before:]]
    end = next(n for n, line in enumerate(logged) if "connection errors ended" in line)
    during = logged[: end + 1]
    outage = [line for line in during if line.startswith("Kafka ")]
    assert outage[0].startswith("Kafka unreachable ("), during
    assert all(line.startswith("Kafka still unreachable after") for line in outage[1:-1]), during
    assert outage[-1].startswith("Kafka connection errors ended (15s without one) after ")
    held = re.search(r"\(([\d,]+) client log lines held back\)", outage[-1])
    assert held is not None and int(held[1].replace(",", "")) >= 10, outage[-1]
    # Beside those, a few lines at most: the first signs (a coordinator gone), Faust's own.
    assert len(during) - len(outage) <= 5, during


def applied(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return False
    return any(
        line.startswith("floorpulse_events_total") and float(line.split()[-1]) >= 1
        for line in text.splitlines()
    )


def text(path: Path) -> str:
    return path.read_text(errors="replace")
