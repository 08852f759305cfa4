"""The pipeline without Faust: batches of records over byte stores, as a worker applies them."""

from __future__ import annotations

import base64
import json
import random
import zlib
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from streams.engine import DEFAULT_PARAMS
from streams.logfile import open_log
from streams.pipeline.batch import Pipeline, Record
from streams.pipeline.metrics import FloorCollector, Snapshot
from streams.pipeline.published import Published
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import Samples, as_report, report_subset, route_line
from tests.scenarios import expected_report_path, first_difference, scenario_logs

HOUR_MS = 3_600_000
LATER = 2_000_000_000_000
"""A wall clock after every example log (2033), so that none of their events is ahead of it."""
EVERY_PARTITION = {(topic, p) for topic in (AGENT_EVENTS, CALL_EVENTS) for p in range(6)}


class Floor:
    """A worker's three stores and a pipeline over them, fed like Kafka feeds a worker."""

    def __init__(self) -> None:
        self.agents: dict[str, bytes] = {}
        self.campaigns: dict[str, bytes] = {}
        self.partitions: dict[str, bytes] = {}
        self.published = Published()
        self.pipeline = self.restart()

    def restart(self) -> Pipeline:
        """A new worker over the same stores: what a restart restores from the changelog.
        Whatever the old one had not flushed is lost, as in a crash."""
        self.pipeline = Pipeline(self.agents, self.campaigns, self.partitions, DEFAULT_PARAMS)
        return self.pipeline

    def flush(self) -> None:
        """Store what changed, as the worker does before it acks the events applied."""
        writes = self.pipeline.flush()
        for store, changed in (
            (self.agents, writes.agents),
            (self.campaigns, writes.campaigns),
            (self.partitions, writes.partitions),
        ):
            for key, (_partition, data) in changed.items():
                if data is None:
                    del store[key]
                else:
                    store[key] = data

    def samples(self, owned: set[tuple[str, int]] = EVERY_PARTITION) -> Samples:
        """The metrics of what the stores hold once changes are flushed."""
        self.flush()
        return samples_of(self.snapshot(owned))

    def snapshot(self, owned: set[tuple[str, int]] = EVERY_PARTITION) -> Snapshot:
        """What /metrics reads: the stores only."""
        return self.published.snapshot(self.agents, self.campaigns, self.partitions, owned)


def samples_of(snapshot: Snapshot) -> Samples:
    registry = CollectorRegistry()
    registry.register(FloorCollector(lambda: snapshot))
    return Samples.parse(generate_latest(registry).decode())


def records_of(log: Path) -> list[Record]:
    """The log's lines as Kafka would hold them: by topic and key hash, offsets per partition."""
    offsets: dict[tuple[str, int], int] = {}
    records = []
    with open_log(str(log)) as lines:
        for line in lines:
            if not line.strip():
                continue
            topic, key = route_line(line)
            partition = zlib.crc32(key or b"") % 6
            offset = offsets.get((topic, partition), 0)
            offsets[topic, partition] = offset + 1
            records.append(Record(topic, partition, offset, key, line.rstrip(b"\n")))
    return records


def in_batches(records: list[Record], rng: random.Random) -> list[list[Record]]:
    batches, start = [], 0
    while start < len(records):
        size = rng.choice((1, 7, 50, 400, 5000))
        batches.append(records[start : start + size])
        start += size
    return batches


def expected(log: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads(expected_report_path(log).read_text())
    return report


def assert_matches(samples: Samples, report: dict[str, Any]) -> None:
    want = report_subset(report)
    want["teams"] = {k: v for k, v in want["teams"].items() if report["teams"][k]["agents"]}
    assert first_difference(as_report(samples), want) is None
    assert samples.applied() == report["events"]["valid"] - report["events"]["duplicate"]
    assert samples.total("floorpulse_events_invalid_total") == report["events"]["invalid"]
    assert samples.total("floorpulse_events_duplicate_total") == report["events"]["duplicate"]


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_batches_of_any_size_give_the_report(log: Path) -> None:
    floor = Floor()
    rng = random.Random(log.name)
    for batch in in_batches(records_of(log), rng):
        floor.pipeline.apply(batch, now_ms=LATER)
        if rng.random() < 0.3:
            floor.flush()
    assert_matches(floor.samples(), expected(log))


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_a_restart_that_reads_again_counts_nothing_twice(log: Path) -> None:
    records = records_of(log)
    floor = Floor()
    half = len(records) // 2
    floor.pipeline.apply(records[:half], now_ms=LATER)
    floor.flush()
    # After a crash Kafka redelivers from the last commit: here, from a quarter in.
    floor.restart().apply(records[half // 2 :], now_ms=LATER)
    assert_matches(floor.samples(), expected(log))


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_a_crash_loses_only_what_kafka_delivers_again(log: Path) -> None:
    records = records_of(log)
    floor = Floor()
    quarter, half = len(records) // 4, len(records) // 2
    floor.pipeline.apply(records[:quarter], now_ms=LATER)
    floor.flush()  # the worker acks these, so the next commit may name them
    floor.pipeline.apply(records[quarter:half], now_ms=LATER)  # applied, never flushed: lost
    floor.restart().apply(records[quarter:], now_ms=LATER)
    assert_matches(floor.samples(), expected(log))


def test_metrics_show_only_written_state_of_the_owned_partitions() -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    floor = Floor()
    floor.pipeline.apply(records_of(log), now_ms=LATER)
    # Applied but not yet written: a crash now would restore none of it, so none is shown.
    assert floor.snapshot() == Snapshot(owned={AGENT_EVENTS: 6, CALL_EVENTS: 6})
    floor.flush()
    every_campaign = floor.snapshot().campaigns
    owned = {(AGENT_EVENTS, 1), (CALL_EVENTS, 1), (CALL_EVENTS, 4)}
    shown = floor.snapshot(owned)
    assert shown.owned == {AGENT_EVENTS: 1, CALL_EVENTS: 2}
    assert shown.agents
    assert {e.partition for e in shown.agents} == {1}
    assert shown.campaigns == [(k, e) for k, e in every_campaign if e.partition in (1, 4)]
    assert samples_of(floor.snapshot()).values == floor.samples().values


def test_invalid_bytes_become_a_dead_letter_with_the_original() -> None:
    floor = Floor()
    raw = b"\xff\xfe not json"
    effects = floor.pipeline.apply([Record(AGENT_EVENTS, 2, 41, b"agent-7", raw)], now_ms=LATER)
    ((key, wrapped),) = effects.dead_letters
    letter = json.loads(wrapped)
    assert key == b"agent-7"
    assert letter["error"].startswith("json: ")
    assert (letter["topic"], letter["partition"], letter["offset"]) == (AGENT_EVENTS, 2, 41)
    assert letter["key"] == "agent-7"
    assert letter["raw_encoding"] == "base64"
    assert base64.b64decode(letter["raw"]) == raw
    assert floor.samples().total("floorpulse_events_invalid_total", error="json") == 1


def test_an_event_on_the_wrong_topic_is_dead_lettered() -> None:
    event = {
        "v": 1, "type": "call.dialed", "event_id": "e1", "ts": 1, "source": "s",
        "call_id": "c1", "campaign_id": "C1",
    }  # fmt: skip
    floor = Floor()
    raw = json.dumps(event).encode()
    effects = floor.pipeline.apply([Record(AGENT_EVENTS, 0, 0, b"C1", raw)], now_ms=LATER)
    (letter,) = [json.loads(w) for _, w in effects.dead_letters]
    assert letter["error"].startswith("type: ")
    assert letter["raw"] == raw.decode()
    assert floor.samples().total("floorpulse_calls_dialed_total") == 0


def agent_state(agent: str, ts: int, state: str, n: int) -> Record:
    event = {
        "v": 1, "type": "agent.state", "event_id": f"e{n}", "ts": ts, "source": "s",
        "agent_id": agent, "team_id": "T1", "campaign_id": "C1", "state": state,
    }  # fmt: skip
    return Record(AGENT_EVENTS, 0, n, agent.encode(), json.dumps(event).encode())


def test_a_live_partition_ticks_into_a_long_stretch() -> None:
    now = 1_800_000_000_000
    floor = Floor()
    start = now - 2 * HOUR_MS
    # a1 has been ready for two hours with no event since; a2's event keeps the partition live.
    floor.pipeline.apply([agent_state("a1", start, "ready", 0)], now_ms=now)
    floor.pipeline.apply([agent_state("a2", now - 10_000, "ready", 1)], now_ms=now)
    assert floor.samples().total("floorpulse_checkins_opened_total") == 0

    effects = floor.pipeline.tick({(AGENT_EVENTS, 0)}, now_ms=now)

    assert [(c.agent_id, c.kind, c.opened_ts) for c in effects.checkins] == [
        ("a1", "long_stretch", start + 90 * 60_000)
    ]
    assert floor.samples().total("floorpulse_checkins_opened_total", kind="long_stretch") == 1
    assert floor.pipeline.tick({(AGENT_EVENTS, 0)}, now_ms=now).checkins == []  # decided once


def test_an_old_partition_never_ticks_by_wall_time() -> None:
    floor = Floor()
    floor.pipeline.apply([agent_state("a1", 1_000_000_000_000, "ready", 0)], now_ms=LATER)
    floor.flush()
    effects = floor.pipeline.tick({(AGENT_EVENTS, 0)}, now_ms=1_800_000_000_000)
    assert effects.checkins == []
    assert floor.pipeline.flush().agents == {}
    assert floor.samples().total("floorpulse_checkins_opened_total") == 0


def test_calls_count_on_their_own_topic() -> None:
    event = {
        "v": 1, "type": "call.dialed", "event_id": "e1", "ts": 5, "source": "s",
        "call_id": "c1", "campaign_id": "C1",
    }  # fmt: skip
    floor = Floor()
    raw = json.dumps(event).encode()
    floor.pipeline.apply([Record(CALL_EVENTS, 3, 0, b"C1", raw)], now_ms=LATER)
    floor.pipeline.apply([Record(CALL_EVENTS, 3, 0, b"C1", raw)], now_ms=LATER)  # redelivered
    samples = floor.samples()
    assert samples.total("floorpulse_calls_dialed_total", campaign="C1") == 1
    assert samples.total("floorpulse_events_total", topic=CALL_EVENTS, type="call.dialed") == 1
    assert samples.total("floorpulse_events_duplicate_total") == 0


def call_event(kind: str, call: str, ts: int, n: int, **fields: str) -> Record:
    event = {
        "v": 1, "type": kind, "event_id": f"q{n}", "ts": ts, "source": "s",
        "call_id": call, "campaign_id": "Q1", **fields,
    }  # fmt: skip
    return Record(CALL_EVENTS, 2, n, b"Q1", json.dumps(event).encode())


def queue_gauges(floor: Floor) -> tuple[float, float]:
    samples = floor.samples({(CALL_EVENTS, 2)})
    return (
        samples.total("floorpulse_queue_calls_waiting", campaign="Q1"),
        samples.total("floorpulse_queue_oldest_wait_seconds", campaign="Q1"),
    )


def test_the_oldest_wait_moves_with_live_ticks_and_never_by_wall_time_in_a_replay() -> None:
    now = 1_800_000_000_000
    floor = Floor()
    floor.pipeline.apply(
        [
            call_event("call.queued", "c1", now - 50_000, 0),
            call_event("call.queued", "c2", now - 20_000, 1),
            call_event("call.queued", "c3", now - 15_000, 2),
            call_event("call.connected", "c3", now - 10_000, 3, agent_id="a1", team_id="T1"),
        ],
        now_ms=now,
    )
    assert queue_gauges(floor) == (2, 40.0)  # at the campaign's clock, its latest event
    floor.pipeline.tick({(CALL_EVENTS, 2)}, now_ms=now + 30_000)
    assert queue_gauges(floor) == (2, 75.0)  # ticked to 5 s behind the wall clock
    floor.pipeline.apply([call_event("call.abandoned", "c1", now + 26_000, 4)], now_ms=now)
    assert queue_gauges(floor) == (1, 46.0)  # c2's wait at the abandon's time

    replayed = Floor()
    old = 1_000_000_000_000
    replayed.pipeline.apply([call_event("call.queued", "c1", old, 0)], now_ms=now)
    replayed.pipeline.tick({(CALL_EVENTS, 2)}, now_ms=now)
    assert queue_gauges(replayed) == (1, 0.0)


def test_an_event_far_ahead_of_the_clock_is_dead_lettered_as_future() -> None:
    floor = Floor()
    year_9999 = 253_402_300_799_000
    records = [
        agent_state("a1", LATER - 60_000, "ready", 0),
        agent_state("a1", year_9999, "wrap_up", 1),
        agent_state("a1", LATER + 23 * HOUR_MS, "ready", 2),  # a replay running ahead: fine
    ]
    effects = floor.pipeline.apply(records, now_ms=LATER)
    ((key, wrapped),) = effects.dead_letters
    letter = json.loads(wrapped)
    assert key == b"a1"
    assert letter["error"].startswith("future: ")
    assert (letter["offset"], letter["id"]) == (1, f"{AGENT_EVENTS}:0:1")
    samples = floor.samples()
    assert samples.total("floorpulse_events_invalid_total", error="future") == 1
    assert samples.total("floorpulse_events_total") == 2
    # Ready from a minute before the clock to the replayed event 23 h ahead: nothing of the
    # year 9999 (which would have been 251 billion seconds).
    assert samples.total("floorpulse_agent_state_seconds_total") == 23 * 3600 + 60


def test_events_far_behind_or_ahead_of_the_clock_are_counted_apart() -> None:
    floor = Floor()
    floor.pipeline.apply(
        [
            agent_state("a1", LATER - 2 * 86_400_000, "ready", 0),  # an old log replayed
            agent_state("a2", LATER - 1_000, "ready", 1),
            agent_state("a3", LATER + 60_000, "ready", 2),  # a minute ahead: no delay
        ],
        now_ms=LATER,
    )
    samples = floor.samples()
    assert samples.total("floorpulse_events_behind_total") == 1
    assert samples.total("floorpulse_events_ahead_total") == 1
    # The delay histogram never takes a negative observation: two events, both behind.
    assert samples.total("floorpulse_event_delay_seconds_count") == 2
    assert samples.total("floorpulse_event_delay_seconds_bucket", le="1.0") == 1
