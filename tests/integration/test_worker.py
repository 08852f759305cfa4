"""The live pipeline on a real broker: each shared scenario, produced into Kafka and processed
by `floorpulse worker`, gives on /metrics the numbers of its offline report."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.localkafka import free_ports
from streams.logfile import open_log
from streams.pipeline.entries import load_agent, load_campaign, load_partition
from streams.pipeline.metrics import FloorCollector, Snapshot
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import (
    CONSUMERS,
    Samples,
    WorkerProcess,
    as_report,
    consume_until,
    produce_lines,
    report_subset,
    stop_all,
    wait_for,
)
from tests.scenarios import expected_report_path, first_difference, scenario_logs

pytestmark = pytest.mark.kafka


def read_lines(log: Path) -> list[bytes]:
    with open_log(str(log)) as lines:
        return [line for line in lines if line.strip()]


def expected(log: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(expected_report_path(log).read_text())
    return report


def applied_count(report: dict[str, Any]) -> int:
    events = report["events"]
    return int(events["valid"] - events["duplicate"])


def until_applied(
    workers: list[WorkerProcess], report: dict[str, Any], deadline_s: float = 120.0
) -> Samples:
    """The summed scrape of the workers once every event of the log has been read."""
    applied, invalid = applied_count(report), report["events"]["invalid"]

    def probe() -> Samples | None:
        total = Samples({})
        for worker in workers:
            total = total + worker.samples()
        done = total.applied() >= applied
        return total if done and total.total("floorpulse_events_invalid_total") >= invalid else None

    try:
        return wait_for(
            f"{applied} events applied and {invalid} invalid", probe, deadline_s=deadline_s
        )
    except AssertionError:
        for worker in workers:
            print(worker.log_tail())
        raise


def assert_matches_report(samples: Samples, report: dict[str, Any]) -> None:
    want = report_subset(report)
    # A team only named by call.connected has no agent state to export; the report lists it
    # with zeros, which the comparison below would otherwise miss.
    want["teams"] = {k: v for k, v in want["teams"].items() if report["teams"][k]["agents"]}
    difference = first_difference(as_report(samples), want)
    assert difference is None, difference
    assert samples.total("floorpulse_events_duplicate_total") == report["events"]["duplicate"]
    assert samples.total("floorpulse_events_late_total") == report["events"]["late"]
    assert samples.total("floorpulse_events_invalid_total") == report["events"]["invalid"]


@pytest.mark.parametrize("consumer", CONSUMERS)
@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_scenario_through_kafka_gives_the_report(
    log: Path, consumer: str, fresh_broker: str, tmp_path: Path
) -> None:
    report = expected(log)
    (port,) = free_ports(1)
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log", consumer=consumer)
    worker.start()
    try:
        produce_lines(fresh_broker, read_lines(log))
        samples = until_applied([worker], report)
        assert_matches_report(samples, report)
        worker.assert_consumed_with(consumer)
    finally:
        stop_all([worker])


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_worker_killed_halfway_and_restarted_loses_and_double_counts_nothing(
    consumer: str, fresh_broker: str, tmp_path: Path
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    report, lines = expected(log), read_lines(log)
    half = len(lines) // 2
    (port,) = free_ports(1)
    state = tmp_path / "state"
    first = WorkerProcess(
        fresh_broker, port, tmp_path / "first.log", data_dir=state, consumer=consumer
    ).start()
    try:
        produce_lines(fresh_broker, lines[:half])
        wait_for("the worker to be halfway", lambda: first.samples().applied() > half // 2 or None)
        first.stop(signal.SIGKILL)
        produce_lines(fresh_broker, lines[half:])
        second = WorkerProcess(
            fresh_broker, port, tmp_path / "second.log", data_dir=state, consumer=consumer
        )
        second.start()
        try:
            samples = until_applied([second], report)
            assert_matches_report(samples, report)
        finally:
            stop_all([second])
    finally:
        stop_all([first])


def rocksdb_snapshot(state: Path) -> Samples:
    """The metrics of what a stopped worker's RocksDB databases hold, read without Faust."""
    from rocksdict import AccessType, Options, Rdict

    stores: dict[str, dict[str, bytes]] = {
        "agents": {},
        "campaigns": {},
        "partitions": {},
    }
    for path in sorted((state / "v1" / "tables").glob("*-*.db")):
        table = path.name.rpartition("-")[0]
        db = Rdict(str(path), options=Options(raw_mode=True), access_type=AccessType.read_only())
        try:
            for key, value in db.items():
                if key != b"__faust\0offset__":
                    stores[table][json.loads(key)] = value  # keys are JSON, as Faust sends them
        finally:
            db.close()
    snapshot = Snapshot(
        agents=[load_agent(v) for v in stores["agents"].values()],
        campaigns=[(k, load_campaign(v)) for k, v in stores["campaigns"].items()],
        owned={AGENT_EVENTS: 6, CALL_EVENTS: 6},  # the worker owned every partition
    )
    for key, data in stores["partitions"].items():
        snapshot.partitions.setdefault(key.rpartition(":")[0], []).append(load_partition(data))
    registry = CollectorRegistry()
    registry.register(FloorCollector(lambda: snapshot))
    return Samples.parse(generate_latest(registry).decode())


def test_a_worker_with_a_data_dir_keeps_its_state_in_rocksdb_there(
    fresh_broker: str, tmp_path: Path
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    report = expected(log)
    (port,) = free_ports(1)
    state = tmp_path / "state"
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log", data_dir=state).start()
    try:
        produce_lines(fresh_broker, read_lines(log))
        until_applied([worker], report)
        # The worker acks an event once its state is stored, and Faust commits what is acked:
        # in bulk, the default.
        wait_for("the worker to commit every input offset", lambda: all_committed(worker))
        worker.assert_consumed_with("bulk")
    finally:
        stop_all([worker])
    assert_matches_report(rocksdb_snapshot(state), report)


def all_committed(worker: WorkerProcess) -> bool | None:
    """Whether Faust's sensor shows every input partition committed up to its end."""
    ends: dict[frozenset[tuple[str, str]], float] = {}
    committed: dict[frozenset[tuple[str, str]], float] = {}
    for (name, labels), value in worker.samples().values.items():
        if dict(labels).get("topic") not in (AGENT_EVENTS, CALL_EVENTS):
            continue
        if name == "faust_topic_partition_end_offset":
            ends[labels] = value
        elif name == "faust_topic_partition_offset_commited":
            committed[labels] = value
    # Faust reports the end of a partition it has fetched from: every one with events, once
    # they are all applied.
    done = bool(ends) and all(committed.get(tp, 0) >= end for tp, end in ends.items())
    return True if done else None


def share_the_shift_between_two_workers(
    bootstrap: str, tmp_path: Path, consumer: str | None = None
) -> tuple[list[WorkerProcess], dict[str, Any]]:
    """Two workers split the partitions, process the shift scenario, and together export it."""
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    report = expected(log)
    workers = [
        WorkerProcess(bootstrap, port, tmp_path / f"worker-{n}.log", consumer=consumer).start()
        for n, port in enumerate(free_ports(2))
    ]

    def owned() -> list[float]:
        return [w.samples().total("floorpulse_partitions_owned") for w in workers]

    try:
        wait_for(
            "the workers to split the partitions",
            lambda: owned() if all(owned()) and sum(owned()) == 12 else None,
        )
        produce_lines(bootstrap, read_lines(log))
        shared = until_applied(workers, report)
        assert all(w.samples().applied() > 0 for w in workers), "one worker owned nothing"
        assert_matches_report(shared, report)
    except BaseException:
        stop_all(workers)
        raise
    return workers, report


def test_two_workers_share_the_partitions(fresh_broker: str, tmp_path: Path) -> None:
    workers, _report = share_the_shift_between_two_workers(fresh_broker, tmp_path)
    stop_all(workers)


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_survivor_takes_over_and_nothing_stale_remains(
    consumer: str, fresh_broker: str, tmp_path: Path
) -> None:
    workers, report = share_the_shift_between_two_workers(fresh_broker, tmp_path, consumer)
    try:
        workers[0].stop(signal.SIGTERM)
        # A rebalance, then the survivor restores the partitions it takes over from their
        # changelogs before it exports them.
        alone = until_applied([workers[1]], report, deadline_s=240.0)
        assert_matches_report(alone, report)
    finally:
        stop_all(workers)


def labelled(samples: Samples, label: str) -> set[str]:
    """The values of `label` across every series."""
    return {dict(labels)[label] for _name, labels in samples.values if label in dict(labels)}


@pytest.mark.parametrize("consumer", CONSUMERS)
def test_a_campaign_and_a_team_quiet_past_the_retention_leave_the_worker(
    consumer: str, fresh_broker: str, tmp_path: Path
) -> None:
    day_ms, now = 86_400_000, time.time_ns() // 1_000_000

    def opening(season: str, ts: int) -> list[bytes]:
        return [
            json.dumps(event).encode()
            for event in (
                {
                    "v": 1, "type": "call.dialed", "event_id": f"{season}-call", "ts": ts,
                    "source": "test", "call_id": f"{season}-1", "campaign_id": season,
                },
                {
                    "v": 1, "type": "agent.state", "event_id": f"{season}-agent", "ts": ts,
                    "source": "test", "agent_id": f"agent-{season}", "team_id": f"{season}-team",
                    "campaign_id": season, "state": "ready",
                },
            )
        ]  # fmt: skip

    def shown(samples: Samples) -> tuple[set[str], set[str]]:
        return labelled(samples, "campaign"), labelled(samples, "team")

    (port,) = free_ports(1)
    state = tmp_path / "state"
    worker = WorkerProcess(
        fresh_broker, port, tmp_path / "worker.log", data_dir=state, consumer=consumer
    ).start()
    try:
        # Forty days old, and the newest events the worker has seen: not quiet yet.
        produce_lines(fresh_broker, opening("spring", now - 40 * day_ms))
        spring = ({"spring"}, {"spring-team"})
        wait_for("spring on /metrics", lambda: shown(worker.samples()) == spring or None)
        produce_lines(fresh_broker, opening("summer", now))
        summer = ({"summer"}, {"summer-team"})
        samples = wait_for(
            "spring to leave /metrics",
            lambda: s if shown(s := worker.samples()) == summer else None,
        )
        assert samples.applied() == 4  # what left stays counted
        # Deleted from the tables once the record that counts them is delivered.
        for table, key in (("campaigns", "spring"), ("agents", "agent-spring")):
            consume_until(
                fresh_broker,
                f"floorpulse-{table}-changelog",
                f"the deletion of {key}",
                lambda read, key=key: any(
                    m.key == json.dumps(key).encode() and m.value is None for m in read
                ),
            )
        worker.assert_consumed_with(consumer)
    finally:
        stop_all([worker])
    assert shown(rocksdb_snapshot(state)) == summer
