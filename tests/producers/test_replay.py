"""Replay without a broker: routing raw lines, shifting their time, time arguments, and the
replay loop driven by a fake clock that never sleeps."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.replay import (
    LISTED,
    NOTICE_S,
    ReplayOptions,
    ReplayReport,
    replay,
    resume_line,
    watch,
)
from producers.routing import Routed, route_line, unroutable_reason
from producers.shift import with_ts
from producers.when import iso, parse_duration_ms, parse_time
from streams.codec import InvalidEvent, decode, encode
from streams.events import MAX_TS, Event
from streams.topics import AGENT_EVENTS, CALL_EVENTS, route
from tests.strategies import EVENTS, mutated_bytes, mutated_objects

T0 = 1_767_600_000_000


def line(**fields: Any) -> bytes:
    return json.dumps(fields).encode()


def agent(ts: int | None, agent_id: object = "a1", **more: Any) -> bytes:
    return line(type="agent.state", agent_id=agent_id, ts=ts, **more)


def call(ts: int | None, campaign_id: object = "c1", **more: Any) -> bytes:
    return line(type="call.dialed", campaign_id=campaign_id, ts=ts, **more)


# routing ----------------------------------------------------------------------------------------


@given(EVENTS)
def test_a_valid_event_routes_as_the_contract_says(event: Event) -> None:
    topic, key = route(event)
    assert route_line(encode(event)) == Routed(topic, key.encode(), event.ts)


@given(st.one_of(mutated_objects(), mutated_bytes()))
def test_any_line_routes_like_its_event_or_not_at_all(data: bytes) -> None:
    routed = route_line(data)
    try:
        event = decode(data)
    except InvalidEvent:
        return
    topic, key = route(event)
    assert routed == Routed(topic, key.encode(), event.ts)


def test_agent_lines_go_by_agent_and_call_lines_by_campaign() -> None:
    assert route_line(agent(T0, "a7")) == Routed(AGENT_EVENTS, b"a7", T0)
    assert route_line(call(T0, "camp-b")) == Routed(CALL_EVENTS, b"camp-b", T0)
    assert route_line(line(type="agent.disposition", agent_id="é", campaign_id="c")) == Routed(
        AGENT_EVENTS, "é".encode(), None
    )


def test_an_invalid_event_with_a_known_prefix_is_routed_for_the_dead_letter_path() -> None:
    assert route_line(line(type="call.parked", campaign_id="c1", ts=T0)) == Routed(
        CALL_EVENTS, b"c1", T0
    )
    assert route_line(agent(T0, v=2, source=None)) == Routed(AGENT_EVENTS, b"a1", T0)


@pytest.mark.parametrize(
    "data", [call(T0, campaign_id=None), line(type="call.ended", ts=T0), agent(T0, agent_id=7)]
)
def test_a_missing_or_non_text_key_routes_with_a_null_key(data: bytes) -> None:
    routed = route_line(data)
    assert routed is not None
    assert routed.key is None
    assert routed.ts == T0


@pytest.mark.parametrize("ts", [0, -1, MAX_TS, 1.5e12, True, "1767600000000", None])
def test_a_ts_that_is_not_a_valid_event_time_is_none(ts: object) -> None:
    routed = route_line(agent(None) if ts is None else line(type="agent.state", ts=ts))
    assert routed is not None
    assert routed.ts is None


def test_a_repeated_type_counts_by_its_last_value() -> None:
    data = b'{"type": "agent.state", "type": "call.dialed", "campaign_id": "c", "agent_id": "a"}'
    assert route_line(data) == Routed(CALL_EVENTS, b"c", None)


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b'{"type": "agent.state", "agent_id": "a1", "ts": 17', "not JSON"),
        (b"NaN", "not JSON"),
        (b"", "not JSON"),
        (b'[{"type": "agent.state"}]', "a JSON array, not an object"),
        (b'"agent.state"', "a JSON string, not an object"),
        (b'{"agent_id": "a1"}', "no type"),
        (b'{"type": null}', "type is a JSON null"),
        (b'{"type": ["call.dialed"]}', "type is a JSON array"),
        (b'{"type": "chat.message"}', "type 'chat.message' is neither agent.* nor call.*"),
        (b'{"type": "Agent.state"}', "type 'Agent.state' is neither agent.* nor call.*"),
        (b'{"type": "call\xff.dialed"}', "not UTF-8"),
    ],
)
def test_a_line_without_a_recognisable_type_is_unroutable(data: bytes, why: str) -> None:
    assert route_line(data) is None
    assert unroutable_reason(data) == why


def test_non_utf8_outside_the_routing_fields_still_routes() -> None:
    data = b'{"type": "call.dialed", "campaign_id": "c1", "note": "\xff"}'
    assert route_line(data) == Routed(CALL_EVENTS, b"c1", None)


@settings(deadline=None)  # the first example imports both clients: slow on a busy machine
@given(st.binary(max_size=64), st.integers(min_value=1, max_value=64))
def test_a_key_lands_on_the_partition_kafka_python_would_choose(key: bytes, count: int) -> None:
    # Replay produces with aiokafka and KafkaSink with kafka-python: one key, one partition.
    from aiokafka.partitioner import DefaultPartitioner  # type: ignore[import-untyped, unused-ignore]
    from kafka.partitioner.default import murmur2  # type: ignore[import-untyped, unused-ignore]

    partitions = list(range(count))
    expected = (murmur2(key) & 0x7FFFFFFF) % count
    assert DefaultPartitioner()(key, partitions, partitions) == expected


# shifting ---------------------------------------------------------------------------------------


def test_only_the_digits_of_ts_change_in_a_plain_line() -> None:
    data = b'{"v": 1, "ts" :  1767600000000 , "type": "agent.state", "note": "ts"}'
    shifted = with_ts(data, 1_767_600_000_000, 1_800_000_000_123)
    assert shifted == b'{"v": 1, "ts" :  1800000000123 , "type": "agent.state", "note": "ts"}'


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b'{"agent_id": "a\\"ts\\": 5", "ts": 1767600000000}',
            b'{"agent_id": "a\\"ts\\": 5", "ts": 1767600000007}',
        ),
        (
            b'{"ts": 1767600000000, "extra": {"ts": 1767600000000}}',
            b'{"ts": 1767600000007, "extra": {"ts": 1767600000000}}',
        ),
        (b'{"ts": 5, "ts": 1767600000000}', b'{"ts": 5, "ts": 1767600000007}'),
        (
            b'{"t\\u0073": 1767600000000, "x": ["ts", {"ts": 1}], "a\\"ts": 2}',
            b'{"t\\u0073": 1767600000007, "x": ["ts", {"ts": 1}], "a\\"ts": 2}',
        ),
        (
            b'{"note": "\xff\\n", "ts" :\t1767600000000 }',
            b'{"note": "\xff\\n", "ts" :\t1767600000007 }',
        ),
    ],
    ids=["escaped quote", "nested ts", "repeated ts", "escaped key", "not UTF-8"],
)
def test_in_any_line_only_the_digits_of_the_top_level_ts_change(
    data: bytes, expected: bytes
) -> None:
    assert with_ts(data, T0, T0 + 7) == expected


def test_a_time_shifted_out_of_the_valid_range_is_left_as_it_was() -> None:
    data = agent(T0)
    assert with_ts(data, T0, MAX_TS) == data
    assert with_ts(data, T0, 0) == data


@given(
    st.one_of(st.builds(encode, EVENTS), mutated_objects(), mutated_bytes()),
    st.integers(min_value=-(10**12), max_value=10**12),
)
def test_shifting_moves_ts_and_keeps_every_line_as_valid_or_invalid_as_it_was(
    data: bytes, offset: int
) -> None:
    routed = route_line(data)
    if routed is None or routed.ts is None:
        return
    new_ts = routed.ts + offset
    shifted = with_ts(data, routed.ts, new_ts)
    moved = 0 < new_ts < MAX_TS
    assert route_line(shifted) == routed._replace(ts=new_ts if moved else routed.ts)
    try:
        event = decode(data)
    except InvalidEvent as invalid:
        with pytest.raises(InvalidEvent) as still:
            decode(shifted)
        assert still.value.code == invalid.code
    else:
        assert decode(shifted) == msgspec.structs.replace(event, ts=new_ts if moved else event.ts)


# time arguments ---------------------------------------------------------------------------------

NOW = 1_767_650_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-05T08:00:00Z", T0),
        ("2026-01-05T08:00Z", T0),
        ("2026-01-05 08:00:00.250", T0 + 250),
        ("2026-01-05T09:00:00+01:00", T0),
        ("2026-01-05", T0 - 8 * 3_600_000),
        (" 1767600000000 ", T0),
        ("now", NOW),
        ("NOW", NOW),
        ("now-2h", NOW - 7_200_000),
        ("now-1h30m", NOW - 5_400_000),
        ("Now+8h", NOW + 28_800_000),
        ("-2h", NOW - 7_200_000),
        ("+500ms", NOW + 500),
    ],
)
def test_times_are_iso_epoch_milliseconds_now_or_relative(text: str, expected: int) -> None:
    assert parse_time(text, now_ms=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "-2", "2h", "05/01/2026", "", "now-2x", "now-"])
def test_a_time_that_is_none_of_those_names_the_forms(text: str) -> None:
    with pytest.raises(ValueError, match=r"ISO time.*epoch milliseconds.*now.*now-2h"):
        parse_time(text, now_ms=NOW)


def test_epoch_seconds_are_caught_as_a_likely_mistake() -> None:
    with pytest.raises(ValueError, match=r"seconds.*1767600000000"):
        parse_time("1767600000", now_ms=NOW)


def test_durations_and_iso_output() -> None:
    assert parse_duration_ms("2.5") == 2_500
    assert parse_duration_ms("1m30s") == 90_000
    with pytest.raises(ValueError, match="duration"):
        parse_duration_ms("soon")
    assert iso(T0) == "2026-01-05T08:00:00Z"
    assert iso(MAX_TS - 1) == f"{MAX_TS - 1} ms"


# the replay loop --------------------------------------------------------------------------------


class FakeClock:
    """Monotonic seconds that move only when slept on."""

    def __init__(self) -> None:
        self.now = 500.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class FakeBroker:
    """Keeps what was sent, with the fake clock's time of sending."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, str, bytes | None, bytes]] = []
        self.numbers: list[int] = []

    async def send(self, topic: str, key: bytes | None, value: bytes, number: int) -> None:
        self.sent.append((self.clock.now, topic, key, value))
        self.numbers.append(number)


def run(
    lines: Iterable[bytes], wall_ms: int = NOW, **options: Any
) -> tuple[ReplayReport, FakeBroker, FakeClock]:
    clock = FakeClock()
    broker = FakeBroker(clock)
    report = asyncio.run(
        replay(
            [data + b"\n" for data in lines],
            broker.send,
            ReplayOptions(**options),
            clock=clock,
            now_ms=lambda: wall_ms,
            sleep=clock.sleep,
        )
    )
    return report, broker, clock


def test_every_line_goes_to_its_topic_with_its_key_in_file_order() -> None:
    lines = [agent(T0, "a1"), call(T0 + 1, "c1"), agent(T0 + 2, "a2"), call(T0 + 3, "c2")]
    report, broker, clock = run(lines)
    assert [(t, k, v) for _, t, k, v in broker.sent] == [
        (AGENT_EVENTS, b"a1", lines[0]),
        (CALL_EVENTS, b"c1", lines[1]),
        (AGENT_EVENTS, b"a2", lines[2]),
        (CALL_EVENTS, b"c2", lines[3]),
    ]
    assert report.sent == {AGENT_EVENTS: 2, CALL_EVENTS: 2}
    assert (report.first_ts, report.last_ts) == (T0, T0 + 3)
    assert clock.sleeps == []


def test_lines_keep_their_bytes_and_lose_only_their_line_ending() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock)
    asyncio.run(replay([agent(T0) + b"\r\n", agent(T0)], broker.send, clock=clock))
    assert [value for *_, value in broker.sent] == [agent(T0), agent(T0)]


def test_events_are_paced_by_event_time_at_the_speed() -> None:
    gaps_ms = [0, 1_000, 1_000, 4_000, 3_000, 10_000]
    report, broker, _ = run([agent(T0 + gap) for gap in gaps_ms], speed=2.0)
    start = broker.sent[0][0]
    # 3_000 is late (after 4_000): it goes at once, as do lines due within the slack.
    assert [at - start for at, *_ in broker.sent] == pytest.approx([0, 0.5, 0.5, 2.0, 2.0, 5.0])
    assert report.elapsed_s == pytest.approx(5.0)


@given(
    st.lists(st.integers(min_value=0, max_value=10**7), min_size=1, max_size=30),
    st.floats(min_value=0.01, max_value=1000),
)
def test_no_event_is_sent_before_its_time_nor_after_the_latest_due(
    offsets: list[int], speed: float
) -> None:
    _, broker, _ = run([call(T0 + offset) for offset in offsets], speed=speed)
    start = broker.sent[0][0]
    due_so_far = 0.0
    for (at, *_), offset in zip(broker.sent, offsets, strict=True):
        due = (offset - offsets[0]) / 1000 / speed
        due_so_far = max(due_so_far, due)
        assert at - start >= due - 0.002  # the slack: waits shorter than 2 ms are skipped
        assert at - start <= due_so_far + 1e-9


def test_at_max_speed_nothing_waits() -> None:
    _, broker, clock = run([call(T0), call(T0 + 3_600_000)], speed=None)
    assert clock.sleeps == []
    assert len(broker.sent) == 2


def test_shift_to_now_moves_every_time_by_one_offset() -> None:
    lines = [agent(T0 + 5_000), call(T0), agent(None), call(T0 + 90_000)]
    report, broker, _ = run(lines, shift_to_now=True, wall_ms=NOW)
    times = [route_line(value) for *_, value in broker.sent]
    assert [r.ts if r else None for r in times] == [
        NOW,
        NOW - 5_000,
        None,
        NOW + 85_000,
    ]
    assert report.shift_ms == NOW - (T0 + 5_000)
    assert broker.sent[2][3] == agent(None)


def test_from_and_to_select_by_the_logs_own_event_time() -> None:
    lines = [
        line(type="agent.state", agent_id="a0"),  # before any time: out, as --from is given
        agent(T0 - 1),
        agent(T0),
        line(type="agent.state", agent_id="a1"),  # after an event in range: in
        agent(T0 + 999),
        agent(T0 + 1_000),
        line(type="agent.state", agent_id="a2"),  # after an event out of range: out
        agent(T0 + 500),  # late, but in range
    ]
    report, broker, _ = run(lines, from_ms=T0, to_ms=T0 + 1_000)
    assert [value for *_, value in broker.sent] == [lines[2], lines[3], lines[4], lines[7]]
    assert report.out_of_range == 4
    assert (report.first_ts, report.last_ts) == (T0, T0 + 999)


def test_pacing_and_shifting_start_at_the_first_line_in_range() -> None:
    lines = [agent(T0), agent(T0 + 60_000), agent(T0 + 61_000)]
    report, broker, clock = run(lines, from_ms=T0 + 60_000, speed=1.0, shift_to_now=True)
    assert clock.sleeps == pytest.approx([1.0])
    assert report.shift_ms == NOW - (T0 + 60_000)
    assert len(broker.sent) == 2


def test_unroutable_lines_are_counted_and_named_by_line_number_and_blank_lines_skipped() -> None:
    lines = [agent(T0), b"oops", b"", b"  ", b"[1]", call(T0), b'{"type": "sms.sent"}']
    report, broker, _ = run(lines)
    assert len(broker.sent) == 2
    assert report.unroutable == 3
    assert report.unroutable_lines == [
        (2, "not JSON"),
        (5, "a JSON array, not an object"),
        (7, "type 'sms.sent' is neither agent.* nor call.*"),
    ]
    assert report.blank == 2


def test_beyond_the_listed_ones_unroutable_lines_are_still_counted() -> None:
    report, _, _ = run([b"x"] * (LISTED + 5))
    assert report.unroutable == LISTED + 5
    assert len(report.unroutable_lines) == LISTED


def test_null_keys_are_sent_and_counted() -> None:
    report, broker, _ = run([call(T0, campaign_id=None)])
    assert broker.sent[0][1:3] == (CALL_EVENTS, None)
    assert report.null_keys == 1


def test_lines_go_to_the_topics_they_are_mapped_to() -> None:
    topics = {AGENT_EVENTS: "test.agents", CALL_EVENTS: "test.calls"}
    _, broker, _ = run([agent(T0), call(T0)], topics=topics)
    assert [topic for _, topic, *_ in broker.sent] == ["test.agents", "test.calls"]


def test_a_stop_request_during_a_wait_ends_the_replay_before_the_next_line() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock)
    lines = [agent(T0), agent(T0 + 10_000), agent(T0 + 20_000)]
    report = asyncio.run(
        replay(
            lines,
            broker.send,
            ReplayOptions(speed=1.0),
            clock=clock,
            sleep=clock.sleep,
            stopped=lambda: bool(clock.sleeps),
        )
    )
    assert len(broker.sent) == 1
    assert report.interrupted_at == 2


def test_progress_is_told_of_events_time_and_bytes() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock)
    seen: list[tuple[int, int | None, int]] = []
    lines = [agent(T0 + n) + b"\n" for n in range(2_100)]
    asyncio.run(
        replay(
            lines,
            broker.send,
            clock=clock,
            progress=lambda sent, ts, done: seen.append((sent, ts, done)),
        )
    )
    size = len(lines[0])
    # Told before every 1,024th line.
    assert seen == [(1_023, T0 + 1_022, 1_023 * size), (2_047, T0 + 2_046, 2_047 * size)]


def test_a_stop_request_is_heard_while_lines_are_skipped_too() -> None:
    clock = FakeClock()
    broker = FakeBroker(clock)
    lines = [agent(T0)] * 3_000
    report = asyncio.run(
        replay(
            lines,
            broker.send,
            ReplayOptions(from_ms=T0 + 1),
            clock=clock,
            stopped=lambda: True,
        )
    )
    assert broker.sent == []
    assert report.interrupted_at == 1_024
    assert report.out_of_range == 1_023


# resuming ---------------------------------------------------------------------------------------


def test_each_line_is_sent_with_its_number_in_the_log() -> None:
    report, broker, _ = run([agent(T0), b"oops", b"", call(T0), agent(T0)])
    assert broker.numbers == [1, 4, 5]
    assert report.next_line == 6


def test_from_line_starts_with_that_line_and_paces_and_shifts_from_it() -> None:
    lines = [agent(T0), agent(T0 + 1_000), b"oops", agent(T0 + 60_000), agent(T0 + 61_000)]
    report, broker, clock = run(lines, from_line=3, speed=1.0, shift_to_now=True)
    assert broker.numbers == [4, 5]
    assert report.skipped == 2 and report.unroutable == 1
    assert report.shift_ms == NOW - (T0 + 60_000)
    assert clock.sleeps == pytest.approx([1.0])


def test_from_line_keeps_the_range_of_the_lines_it_skips() -> None:
    lines = [agent(T0 - 1), agent(T0), line(type="agent.state", agent_id="untimed"), agent(T0 + 1)]
    report, broker, _ = run(lines, from_line=3, from_ms=T0)
    # Line 3 has no ts: it goes with line 2, in range though line 2 was skipped.
    assert broker.numbers == [3, 4]
    report, broker, _ = run(lines[:1] + lines[2:], from_line=2, from_ms=T0)
    assert broker.numbers == [3] and report.out_of_range == 1


def test_replays_resumed_at_every_line_together_send_the_log_once() -> None:
    lines = [agent(T0 + n) if n % 3 else call(T0 + n) for n in range(20)]
    _, whole, _ = run(lines)
    for cut in range(1, 22):
        head = run(lines[: cut - 1])[1].sent
        tail = run(lines, from_line=cut)[1].sent
        assert [s[1:] for s in head + tail] == [s[1:] for s in whole.sent]


class FakeDeliveries:
    """What a KafkaSender tells `watch`: the lines waiting, how many messages were settled."""

    def __init__(self) -> None:
        self.waiting: list[int] = []
        self.settled = 0

    def oldest_waiting(self) -> int | None:
        return min(self.waiting, default=None)


class Said:
    """An Outage's lines, and when on the fake clock each was said."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.lines: list[str] = []
        self.times: list[float] = []

    def __call__(self, text: str) -> None:
        self.lines.append(text)
        self.times.append(self.clock.now)


def watching(
    deliveries: FakeDeliveries, clock: FakeClock, retry_for_s: float, events: dict[float, Any]
) -> tuple[int, Said]:
    """Run `watch` on the fake clock; at each time in `events`, call what it maps to."""
    from streams.outage_log import Outage

    said = Said(clock)
    outage = Outage(said, clock=clock, plan=lambda down_for: f"; {retry_for_s - down_for:.0f}")

    async def sleep(seconds: float) -> None:
        await clock.sleep(seconds)
        for at in sorted(events):
            if at <= clock.now:
                events.pop(at)(clock.now)

    number = asyncio.run(watch(deliveries, outage, retry_for_s, clock=clock, sleep=sleep))
    return number, said


def test_a_broker_that_takes_nothing_is_named_in_seconds_and_given_up_on_with_the_line() -> None:
    clock = FakeClock()
    deliveries = FakeDeliveries()
    deliveries.waiting = [41, 42]
    number, said = watching(deliveries, clock, 150.0, {})
    assert number == 41
    assert clock.now - 500 == pytest.approx(150.0, abs=0.5)
    assert len(said.lines) == 3  # the start, and a line a minute
    assert said.lines[0] == (
        "Kafka unreachable (no answer); retrying, with a line a minute while this lasts; 147"
    )
    assert said.times[0] - 500 == pytest.approx(NOTICE_S, abs=0.5)
    assert said.lines[1].startswith("Kafka still unreachable after 1m00s (0 client log lines")
    assert said.lines[2].startswith("Kafka still unreachable after 2m00s")


def test_an_outage_that_ends_is_one_line_at_each_end_and_the_watch_goes_on() -> None:
    clock = FakeClock()
    deliveries = FakeDeliveries()
    deliveries.waiting = [7]

    def back(now: float) -> None:
        deliveries.settled += 1
        deliveries.waiting = []

    def again(now: float) -> None:
        deliveries.waiting = [9]

    number, said = watching(deliveries, clock, 30.0, {520.0: back, 600.0: again})
    assert number == 9
    assert said.lines[0].startswith("Kafka unreachable")
    assert said.lines[1] == "Kafka reachable again after 19s (0 client log lines held back)"
    assert said.lines[2].startswith("Kafka unreachable")
    assert len(said.lines) == 3


def test_a_busy_broker_is_no_outage() -> None:
    clock = FakeClock()
    deliveries = FakeDeliveries()
    deliveries.waiting = [1]

    def progress(now: float) -> None:
        deliveries.settled += 1
        deliveries.waiting = [deliveries.waiting[0] + 1]

    # The broker takes a message a second, each after it waited a second, for 39 s; then nothing.
    events = {500.0 + n: progress for n in range(1, 40)}
    number, said = watching(deliveries, clock, 60.0, events)
    assert number == 40
    assert said.times[0] == pytest.approx(539.0 + NOTICE_S, abs=0.5)


def test_the_resume_line_is_the_first_not_taken_or_where_the_replay_stopped() -> None:
    deliveries = FakeDeliveries()
    report = ReplayReport(next_line=120)
    assert resume_line(report, deliveries) == 120
    deliveries.waiting = [97, 130]
    assert resume_line(report, deliveries) == 97


class HeldProducer:
    """aiokafka's producer as KafkaSender uses it, with deliveries settled by the test, and a
    send that blocks (a full batch) when told to."""

    def __init__(self) -> None:
        self.deliveries: list[asyncio.Future[None]] = []
        self.block = asyncio.Event()
        self.block.set()

    async def send(self, topic: str, value: bytes, key: bytes | None, partition: int) -> Any:
        await self.block.wait()
        delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery

    async def partitions_for(self, topic: str) -> set[int]:
        return set(range(6))


def test_the_sender_knows_the_first_line_the_broker_has_not_taken() -> None:
    from producers.kafka_async import KafkaSender

    async def run() -> None:
        producer = HeldProducer()
        sender = KafkaSender(producer)
        for number in (3, 4, 7):
            await sender.send("t", b"k", b"v", number)
        assert (sender.oldest_waiting(), sender.waiting(), sender.settled) == (3, 3, 0)
        producer.deliveries[1].set_result(None)
        await asyncio.sleep(0)
        assert (sender.oldest_waiting(), sender.waiting(), sender.settled) == (3, 2, 1)
        producer.deliveries[0].set_exception(RuntimeError("refused"))
        await asyncio.sleep(0)
        assert (sender.oldest_waiting(), sender.refused, sender.settled) == (7, 1, 2)
        producer.deliveries[2].set_result(None)
        await asyncio.sleep(0)
        assert sender.oldest_waiting() is None and sender.waiting() == 0
        # A send that cannot even be queued yet is waiting too.
        producer.block.clear()
        blocked = asyncio.create_task(sender.send("t", b"k", b"v", 9))
        await asyncio.sleep(0)
        assert (sender.oldest_waiting(), sender.waiting()) == (9, 1)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        assert sender.oldest_waiting() == 9

    asyncio.run(run())
