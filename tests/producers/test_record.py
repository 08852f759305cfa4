"""Recording without a broker: where each partition starts and stops, and what is written, over
fake topics on a fake clock."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pytest

from producers.kafka_async import Message, Partition
from producers.progress import Progress, log_size
from producers.record import (
    PROBE_TIMEOUT_S,
    GaveUp,
    RecordOptions,
    RecordReport,
    as_line,
    event_ts,
    record,
    resume_since,
)
from producers.sinks import MemorySink
from streams.codec import decode

T0 = 1_767_600_000_000
AGENTS: Partition = ("dialer.agent-events", 0)
AGENTS_1: Partition = ("dialer.agent-events", 1)
CALLS: Partition = ("dialer.call-events", 0)


@dataclass(frozen=True)
class FakeMessage:
    offset: int
    timestamp: int
    value: bytes | None


class FakeTopics:
    """Partitions held in lists, fetched a few messages at a time, on a clock in milliseconds
    that moves only while a fetch waits. `arrivals` are appended once the clock reaches them."""

    BATCH = 3

    def __init__(
        self,
        existing: dict[Partition, list[tuple[int, bytes | None]]],
        arrivals: Iterable[tuple[int, Partition, bytes]] = (),
        away: tuple[int, int] | None = None,
    ) -> None:
        self.away = away
        """[from, to) in ms: the broker answers nothing (fetches wait and find nothing)."""
        self.now_ms = T0 + 3_600_000
        self.logs: dict[Partition, list[FakeMessage]] = {p: [] for p in existing}
        for partition, messages in existing.items():
            for timestamp, value in messages:
                self.append(partition, timestamp, value)
        self.arrivals = sorted(arrivals, key=lambda arrival: arrival[0])
        self.positions: dict[Partition, int] = {}
        self.paused: set[Partition] = set()

    def append(self, partition: Partition, timestamp: int, value: bytes | None) -> None:
        log = self.logs[partition]
        log.append(FakeMessage(len(log), timestamp, value))

    def clock(self) -> float:
        return self.now_ms / 1000

    async def beginning_offsets(self) -> dict[Partition, int]:
        return dict.fromkeys(self.logs, 0)

    async def end_offsets(self) -> dict[Partition, int]:
        return {p: len(log) for p, log in self.logs.items()}

    async def offsets_at(self, ms: int) -> dict[Partition, int | None]:
        return {
            p: next((m.offset for m in log if m.timestamp >= ms), None)
            for p, log in self.logs.items()
        }

    def seek(self, partition: Partition, offset: int) -> None:
        self.positions[partition] = offset

    async def position(self, partition: Partition) -> int:
        return self.positions[partition]

    def pause(self, partition: Partition) -> None:
        self.paused.add(partition)

    def is_away(self) -> bool:
        return self.away is not None and self.away[0] <= self.now_ms < self.away[1]

    async def reachable(self, timeout_s: float) -> bool:
        if self.is_away():
            self.now_ms += int(timeout_s * 1000)
            return False
        return True

    async def fetch(self, timeout_s: float) -> dict[Partition, list[Message]]:
        if self.is_away():
            self.now_ms += int(timeout_s * 1000)
            return {}
        found = self._available()
        if not found:
            self.now_ms += int(timeout_s * 1000)
            while self.arrivals and self.arrivals[0][0] <= self.now_ms:
                at, partition, value = self.arrivals.pop(0)
                self.append(partition, at, value)
            found = self._available()
        return found

    def _available(self) -> dict[Partition, list[Message]]:
        found: dict[Partition, list[Message]] = {}
        for partition, log in self.logs.items():
            position = self.positions[partition]
            if partition not in self.paused and position < len(log):
                found[partition] = list(log[position : position + self.BATCH])
                self.positions[partition] += len(found[partition])
        return found


def event(n: int, ts: int | None = None, **more: Any) -> bytes:
    fields = {"type": "agent.state", "event_id": f"e{n}", "ts": T0 + n if ts is None else ts}
    return json.dumps(fields | more).encode()


def run(
    topics: FakeTopics,
    stop_after: int | None = None,
    *,
    retry_for_s: float | None = None,
    outage: Any = None,
    report: RecordReport | None = None,
    **options: Any,
) -> tuple[RecordReport, list[tuple[str, bytes]]]:
    sink = MemorySink()
    asks = 0

    def stopped() -> bool:
        nonlocal asks
        asks += 1
        return stop_after is not None and asks > stop_after

    report = asyncio.run(
        record(
            topics,
            sorted(topics.logs),
            sink,
            RecordOptions(**options),
            clock=topics.clock,
            now_ms=lambda: topics.now_ms,
            stopped=stopped,
            retry_for_s=retry_for_s,
            outage=outage,
            report=report,
        )
    )
    return report, [(r.topic, r.value) for r in sink.records]


def test_from_the_beginning_each_partition_is_written_in_its_order_until_idle() -> None:
    agents = [event(n) for n in range(7)]
    calls = [event(100 + n, type="call.dialed") for n in range(4)]
    topics = FakeTopics(
        {AGENTS: [(T0, v) for v in agents], CALLS: [(T0, v) for v in calls], AGENTS_1: []}
    )

    report, written = run(topics, start="beginning", until_idle_s=2.0)

    assert [v for t, v in written if t == "dialer.agent-events"] == agents
    assert [v for t, v in written if t == "dialer.call-events"] == calls
    assert report.written == {"dialer.agent-events": 7, "dialer.call-events": 4}
    assert report.stopped_by == "idle"
    assert (report.first_ts, report.last_ts) == (T0, T0 + 103)


def test_by_default_only_what_comes_from_now_on_is_recorded() -> None:
    before = T0 + 3_600_000
    topics = FakeTopics(
        {AGENTS: [(T0, event(1))], CALLS: []},
        arrivals=[(before + 500, AGENTS, event(2)), (before + 900, CALLS, event(3))],
    )
    report, written = run(topics, until_idle_s=1.0)
    assert [v for _, v in written] == [event(2), event(3)]
    assert report.stopped_by == "idle"


def test_since_starts_each_partition_at_its_first_message_written_then_or_later() -> None:
    topics = FakeTopics(
        {
            AGENTS: [(T0, event(1)), (T0 + 10, event(2)), (T0 + 5, event(3))],
            CALLS: [(T0, event(4))],
        }
    )
    _, written = run(topics, start=T0 + 10, until_idle_s=1.0)
    # A later message written with an earlier record time still follows in partition order.
    assert [v for _, v in written] == [event(2), event(3)]


def test_until_in_the_past_ends_each_partition_at_its_first_message_written_then() -> None:
    topics = FakeTopics(
        {
            AGENTS: [(T0 + n * 1000, event(n)) for n in range(10)],
            CALLS: [(T0, event(50))],
        }
    )
    report, written = run(topics, start="beginning", until_ms=T0 + 5_000)
    assert [v for t, v in written if t == "dialer.agent-events"] == [event(n) for n in range(5)]
    assert [v for t, v in written if t == "dialer.call-events"] == [event(50)]
    assert report.stopped_by == "until"


def test_until_in_the_future_stops_once_the_clock_passed_it_and_the_ends_are_read() -> None:
    start = T0 + 3_600_000
    topics = FakeTopics(
        {AGENTS: [], CALLS: []},
        arrivals=[
            (start + 1_000, AGENTS, event(1)),
            (start + 4_000, CALLS, event(2)),
            (start + 9_000, AGENTS, event(3)),
        ],
    )
    report, written = run(topics, until_ms=start + 5_000)
    assert [v for _, v in written] == [event(1), event(2)]
    assert report.stopped_by == "until"
    assert topics.now_ms < start + 6_000


def test_a_stop_request_ends_the_recording_with_everything_read_written() -> None:
    topics = FakeTopics({AGENTS: [(T0, event(n)) for n in range(10)]})
    report, written = run(topics, stop_after=2, start="beginning")
    assert report.stopped_by == "request"
    assert len(written) == report.total == 2 * FakeTopics.BATCH


def test_values_are_written_as_they_were_except_line_breaks_and_empty_ones() -> None:
    pretty = b'{\n  "type": "agent.state",\n  "ts": 1767600000000\n}'
    odd = b"not json, \xff"
    topics = FakeTopics({AGENTS: [(T0, pretty), (T0, b""), (T0, None), (T0, odd)]})
    report, written = run(topics, start="beginning", until_idle_s=1.0)
    assert [v for _, v in written] == [b'{   "type": "agent.state",   "ts": 1767600000000 }', odd]
    assert (report.joined, report.empty) == (1, 2)
    assert report.first_ts == report.last_ts == T0


def test_a_line_break_never_changes_a_valid_event() -> None:
    value = b'{"v":1,"type":"call.dialed","event_id":"e","ts":5,\n"source":"s",\r\n'
    value += b'"call_id":"c","campaign_id":"k"}'
    assert decode(as_line(value)) == decode(value)
    assert b"\n" not in as_line(value)


@pytest.mark.parametrize(
    ("value", "ts"),
    [(event(1), T0 + 1), (b'{"ts": 1.5}', None), (b"[]", None), (b'{"ts": 0}', None)],
)
def test_event_time_is_read_only_when_valid(value: bytes, ts: int | None) -> None:
    assert event_ts(value) == ts


# progress ---------------------------------------------------------------------------------------


class Screen:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_progress_redraws_one_line_at_most_every_interval() -> None:
    now = [0.0]
    screen = Screen()
    progress = Progress(screen, "sent", total=1_000, clock=lambda: now[0])  # type: ignore[arg-type]
    now[0] = 1.0
    progress.update(5_000, T0, done=250)
    progress.update(6_000, T0, done=300)  # too soon: not drawn
    now[0] = 2.0
    progress.update(9_000, T0 + 60_000, done=1_200)
    progress.clear()
    lines = screen.text.split("\r")
    assert lines[1].rstrip() == (
        "[######..................]  25% sent 5,000 events, 5,000/s, "
        "event time 2026-01-05T08:00:00Z"
    )
    assert lines[2].startswith("[#######################.] 100% sent 9,000 events, 4,500/s")
    assert lines[-1] == ""
    assert lines[-2].strip() == ""


def test_log_size_is_the_decompressed_size(tmp_path: Any) -> None:
    import gzip

    plain, packed = tmp_path / "a.jsonl", tmp_path / "a.jsonl.gz"
    plain.write_bytes(b"x" * 1000)
    packed.write_bytes(gzip.compress(b"y" * 5000))
    assert (log_size(str(plain)), log_size(str(packed))) == (1000, 5000)
    assert log_size("-") is None
    assert log_size(str(tmp_path / "missing")) is None


# a broker that goes away ------------------------------------------------------------------------


class Said:
    def __init__(self, topics: FakeTopics) -> None:
        self.topics = topics
        self.lines: list[tuple[int, str]] = []

    def __call__(self, text: str) -> None:
        self.lines.append((self.topics.now_ms, text))


def outage_of(topics: FakeTopics) -> tuple[Any, Said]:
    from streams.outage_log import Outage

    said = Said(topics)
    return Outage(said, clock=topics.clock), said


def test_an_outage_is_waited_for_said_in_seconds_and_is_no_idleness() -> None:
    start = T0 + 3_600_000
    topics = FakeTopics(
        {AGENTS: [], CALLS: []},
        arrivals=[
            (start + 1_000, AGENTS, event(1)),
            (start + 50_000, CALLS, event(2)),  # written while the broker is away: read after
            (start + 95_000, AGENTS, event(3)),
        ],
        away=(start + 2_000, start + 92_000),
    )
    outage, said = outage_of(topics)
    report, written = run(topics, until_idle_s=5.0, retry_for_s=120.0, outage=outage)

    assert [v for _, v in written] == [event(1), event(2), event(3)]
    assert report.stopped_by == "idle"
    (down_at, down), (_, minute), (up_at, up) = said.lines
    assert down.startswith("Kafka unreachable")
    assert start + 2_000 < down_at <= start + 2_000 + 1_000 * (1 + PROBE_TIMEOUT_S + 1)
    assert minute.startswith("Kafka still unreachable after 1m00s")
    assert up.startswith("Kafka reachable again after 1m3")
    assert start + 92_000 <= up_at < start + 95_000


def test_after_retry_for_without_an_answer_it_gives_up_saying_where_to_resume() -> None:
    start = T0 + 3_600_000
    topics = FakeTopics(
        {AGENTS: [(T0 + n, event(n)) for n in range(4)], AGENTS_1: [], CALLS: [(T0 + 7, event(7))]},
        arrivals=[(start + 1_000, AGENTS_1, event(10)), (start + 1_500, AGENTS, event(11))],
        away=(start + 3_000, start + 10**9),
    )
    report = RecordReport()
    outage, said = outage_of(topics)
    with pytest.raises(GaveUp, match=r"has not answered for 3[0-3] s \(no answer\)"):
        run(topics, retry_for_s=30.0, outage=outage, report=report, start="beginning")
    assert report.total == 7
    assert report.positions == {AGENTS: 5, AGENTS_1: 1, CALLS: 1}
    assert report.last_time == {AGENTS: start + 1_500, AGENTS_1: start + 1_000, CALLS: T0 + 7}
    assert resume_since(report, [AGENTS, AGENTS_1, CALLS]) == T0 + 7
    assert len(said.lines) == 1


def test_resuming_since_reads_again_only_what_may_be_missing() -> None:
    report = RecordReport(
        last_time={AGENTS: T0 + 50, CALLS: T0 + 20},
        start_times={AGENTS: T0, AGENTS_1: T0 + 5, CALLS: T0},
    )
    assert resume_since(report, [AGENTS, CALLS]) == T0 + 20
    # A partition with nothing read: from its start.
    assert resume_since(report, [AGENTS, AGENTS_1, CALLS]) == T0 + 5
    # Read from its beginning, not empty then, nothing read: only the beginning is sure.
    assert resume_since(RecordReport(last_time={AGENTS: T0}), [AGENTS, CALLS]) is None


def test_from_the_beginning_an_empty_partition_starts_at_the_clock() -> None:
    topics = FakeTopics({AGENTS: [(T0, event(1))], CALLS: []})
    report, _ = run(topics, start="beginning", until_idle_s=1.0)
    assert report.start_times == {CALLS: T0 + 3_600_000}
    assert resume_since(report, [AGENTS, CALLS]) == T0


class CountedSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.flushed_at: list[int] = []

    def flush(self) -> None:
        self.flushed_at.append(len(self.records))


def test_what_was_read_is_flushed_whenever_the_recording_has_caught_up() -> None:
    start = T0 + 3_600_000
    topics = FakeTopics(
        {AGENTS: [(T0, event(n)) for n in range(5)]},
        arrivals=[(start + 1_000, AGENTS, event(10)), (start + 5_000, AGENTS, event(11))],
    )
    sink = CountedSink()
    asyncio.run(
        record(
            topics,
            [AGENTS],
            sink,
            RecordOptions(start="beginning", until_idle_s=8.0),
            clock=topics.clock,
            now_ms=lambda: topics.now_ms,
        )
    )
    # Once after the five, once after each arrival: not after every fetch.
    assert sink.flushed_at == [5, 6, 7]
