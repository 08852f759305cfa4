"""A VICIdial day live: written into VICIdial's tables on a real MariaDB while the adapter polls
them and sends to the real broker, the adapter stopped hard halfway and started again, a worker
processing it all; the worker's /metrics equal the offline analysis of the events on the
topics, and those are the simulator's own day at VICIdial's whole seconds."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from streams.analyze import analyze
from streams.localkafka import free_ports
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import WorkerProcess, consume, stop_all, wait_for
from tests.integration.test_worker import assert_matches_report, until_applied
from tests.mariadb import MariaDB
from tests.vicidial.site import Day, environment, start, write_while_polling
from tests.vicidial.test_round_trip import differences, without_counts
from tests.vicidial.writer import execute

pytestmark = pytest.mark.kafka


def test_a_vicidial_day_through_kafka_gives_the_worker_the_offline_report(
    mariadb: MariaDB,
    dsn: str,
    fresh_broker: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = Day.simulate(tmp_path)
    connection = day.site(mariadb)
    # The worker counts with the floor's own codes, as the adapter maps them.
    monkeypatch.setenv("FLOORPULSE_CONFIG", str(day.config))
    env = environment(FLOORPULSE_KAFKA_BOOTSTRAP=fresh_broker)
    (port,) = free_ports(1)
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log").start()
    try:
        half = len(day.statements) // 2
        first = start(day.command(dsn), env)
        try:
            execute(connection, day.statements[: half // 2])
            wait_for("a checkpoint", lambda: day.checkpoint.exists() or None, deadline_s=60)
            # Stopped while it reads what was just written: some of it sent, not checkpointed.
            execute(connection, day.statements[half // 2 : half])
            first.send_signal(signal.SIGKILL)
            first.communicate(timeout=30)
        finally:
            first.kill()
        stderr = write_while_polling(
            connection, day.statements[half:], start(day.command(dsn), env)
        )
        assert f"events to Kafka at {fresh_broker}" in stderr
        lines = [
            message.value or b""
            for topic in (AGENT_EVENTS, CALL_EVENTS)
            for message in consume(fresh_broker, topic, 0)
        ]
        report = analyze(lines, day.params)
        assert differences(without_counts(report), without_counts(day.report())) == []
        samples = until_applied([worker], report)
        assert_matches_report(samples, report)
    finally:
        stop_all([worker])
