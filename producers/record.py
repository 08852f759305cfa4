"""Record the dialer topics into a log: each value as it was, one line each, in partition order.

Times here are Kafka's record times (when each message was written), the only clock Kafka can
seek by: `since` starts every partition at its first message written at or after it; `until`
ends every partition at its first message written at or after it, or, once the clock has passed
it, at the end the partition had then. Event time (`ts`) is only reported.

Writing each partition's messages in the order read keeps every agent's and every campaign's
order (one key, one partition); how partitions interleave does not matter to the contract.

A broker that goes away is waited for: the consumer keeps its place and reads on once it is
back. While no message comes, the broker is asked a small question every PROBE_EVERY_S; without
an answer it is unreachable (an Outage is told, and the wait does not count as idle); after
`retry_for_s` without one, GaveUp, and the report says where to resume (`resume_since`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, Literal, Protocol

import msgspec

from producers.kafka_async import Message, NoAnswer, Partition
from producers.sinks import Sink, SinkError
from producers.when import wall_ms
from streams.events import MAX_TS

if TYPE_CHECKING:
    from streams.outage_log import Outage

FETCH_WAIT_S: Final = 0.2
"""Longest wait for messages before stop requests, `until` and idleness are checked again."""
PROBE_EVERY_S: Final = 1.0
"""Without messages, how often the broker is asked whether it is there."""
PROBE_TIMEOUT_S: Final = 2.0

Start = Literal["end", "beginning"] | int
"""Where each partition starts: its end (from now on), its beginning, or a record time (ms)."""
Progress = Callable[[int, int | None], None]
"""(events written, latest event time seen)."""


class Source(Protocol):
    """What `record` reads from: a KafkaReader, or a fake in tests."""

    async def beginning_offsets(self) -> dict[Partition, int]: ...
    async def end_offsets(self) -> dict[Partition, int]: ...
    async def offsets_at(self, ms: int) -> dict[Partition, int | None]: ...
    def seek(self, partition: Partition, offset: int) -> None: ...
    async def position(self, partition: Partition) -> int: ...
    def pause(self, partition: Partition) -> None: ...
    async def fetch(self, timeout_s: float) -> dict[Partition, list[Message]]: ...
    async def reachable(self, timeout_s: float) -> bool: ...


class GaveUp(SinkError):
    """The broker has not answered for `retry_for_s`: the recording ends there."""


@dataclass(frozen=True, slots=True)
class RecordOptions:
    start: Start = "end"
    until_ms: int | None = None
    until_idle_s: float | None = None
    """Stop once no message has come for this long."""


@dataclass(slots=True)
class RecordReport:
    written: dict[str, int] = field(default_factory=dict)
    """Lines written per topic."""
    joined: int = 0
    """Values that held line breaks, written with spaces in their place (see `as_line`)."""
    empty: int = 0
    """Empty values and tombstones, which are no events: not written."""
    first_ts: int | None = None
    last_ts: int | None = None
    """Smallest and largest valid event time written."""
    stopped_by: Literal["until", "idle", "request"] | None = None
    """None while running, and when an exception ended the recording."""
    start_times: dict[Partition, int] = field(default_factory=dict)
    """Per partition, a record time from which it was read whole: `since`, or the clock at the
    start for `end`, and for a partition that was empty at the start from its beginning."""
    positions: dict[Partition, int] = field(default_factory=dict)
    """Per partition, the offset after the last message dealt with (written or left out)."""
    last_time: dict[Partition, int] = field(default_factory=dict)
    """Per partition, the record time of that last message."""
    elapsed_s: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.written.values())


class _Ts(msgspec.Struct, gc=False):
    ts: Any = None


_ts_decoder: Final = msgspec.json.Decoder(_Ts)


def event_ts(value: bytes) -> int | None:
    """The value's valid `ts`, if it has one."""
    try:
        ts = _ts_decoder.decode(value).ts
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return None
    return ts if type(ts) is int and 0 < ts < MAX_TS else None


def as_line(value: bytes) -> bytes:
    """A value as one line. Raw line breaks can only be white space between JSON tokens (JSON
    strings cannot hold them), so spaces in their place leave a valid event the same event."""
    return value.replace(b"\n", b" ")


async def record(
    source: Source,
    partitions: Sequence[Partition],
    sink: Sink,
    options: RecordOptions | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = wall_ms,
    stopped: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    report: RecordReport | None = None,
    retry_for_s: float | None = None,
    outage: Outage | None = None,
) -> RecordReport:
    """Write the messages of `partitions` to `sink` until `options` or `stopped` say so, and
    report what was written, in `report` if one is given: it then holds what was done even when
    an exception ends the run. The sink is flushed whenever the recording has caught up (a fetch
    finds nothing new), so that what was read shows, during an outage too; the caller closes it.

    While the broker does not answer, `outage` is told; after `retry_for_s` without an answer
    (None: never), GaveUp.
    """
    options = options or RecordOptions()
    report = RecordReport() if report is None else report
    for topic, _ in partitions:
        report.written.setdefault(topic, 0)
    started = clock()
    broker = _Broker(clock, outage, retry_for_s)
    try:
        await _start(source, partitions, options.start, report, now_ms)
        await _record(
            source, partitions, sink, options, report, clock, now_ms, stopped, progress, broker
        )
    finally:
        report.elapsed_s = clock() - started
    return report


def resume_since(report: RecordReport, partitions: Sequence[Partition]) -> int | None:
    """A record time from which `--since` reads again everything not yet written, with some
    messages already written (each partition from its last message written): the earliest of
    each partition's last record time, or of its start time for partitions with none. None when
    a partition with none started at its beginning and was not empty: only --from-beginning is
    sure."""
    times = []
    for partition in partitions:
        at = report.last_time.get(partition, report.start_times.get(partition))
        if at is None:
            return None
        times.append(at)
    return min(times, default=None)


class _Broker:
    """Whether the broker answers, and for how long it has not."""

    def __init__(
        self, clock: Callable[[], float], outage: Outage | None, retry_for_s: float | None
    ) -> None:
        self._clock = clock
        self._outage = outage
        self._retry_for_s = retry_for_s
        self.answered = clock()
        self.down = False

    def heard(self) -> None:
        self.answered = self._clock()
        if self.down:
            self.down = False
            if self._outage is not None:
                self._outage.up()

    def silent(self) -> None:
        """No answer: an outage (and GaveUp once it has lasted `retry_for_s`)."""
        silent_for = self._clock() - self.answered
        if not self.down:
            self.down = True
            if self._outage is not None:
                self._outage.down(since=self.answered)
        if self._retry_for_s is not None and silent_for >= self._retry_for_s:
            reason = "" if self._outage is None else f" ({self._outage.reason or 'no answer'})"
            raise GaveUp(f"the broker has not answered for {silent_for:.0f} s{reason}")
        if self._outage is not None:
            self._outage.tick()


async def _start(
    source: Source,
    partitions: Sequence[Partition],
    start: Start,
    report: RecordReport,
    now_ms: Callable[[], int],
) -> None:
    if start == "beginning":
        offsets = await source.beginning_offsets()
        wall = now_ms()
        ends = await source.end_offsets()
        report.start_times.update({p: wall for p in partitions if ends[p] <= offsets[p]})
    else:
        report.start_times.update(dict.fromkeys(partitions, now_ms() if start == "end" else start))
        offsets = await source.end_offsets()
        if start != "end":
            found = await source.offsets_at(start)
            # None: nothing written since `start` yet, so the end is where its messages will be.
            offsets = {p: end if (at := found[p]) is None else at for p, end in offsets.items()}
    for partition in partitions:
        source.seek(partition, offsets[partition])


async def _record(
    source: Source,
    partitions: Sequence[Partition],
    sink: Sink,
    options: RecordOptions,
    report: RecordReport,
    clock: Callable[[], float],
    now_ms: Callable[[], int],
    stopped: Callable[[], bool],
    progress: Progress | None,
    broker: _Broker,
) -> None:
    until, idle_s = options.until_ms, options.until_idle_s
    open_partitions = set(partitions)
    ends: dict[Partition, int] | None = None
    heard = clock()
    first = last = None
    written, send = report.written, sink.send
    positions, last_time = report.positions, report.last_time
    unflushed = False
    while True:
        if stopped():
            report.stopped_by = "request"
            return
        if until is not None:
            if ends is None and now_ms() >= until and not broker.down:
                try:
                    ends = await source.end_offsets()
                except NoAnswer:
                    broker.silent()
            if ends is not None:
                for partition in sorted(open_partitions):
                    if await source.position(partition) >= ends[partition]:
                        open_partitions.discard(partition)
                        source.pause(partition)
            if not open_partitions:
                report.stopped_by = "until"
                return
        batches = await source.fetch(FETCH_WAIT_S)
        if progress is not None:
            progress(report.total, last)
        if not batches:
            if unflushed:
                sink.flush()
                unflushed = False
            if clock() - broker.answered >= PROBE_EVERY_S:
                if await source.reachable(PROBE_TIMEOUT_S):
                    if broker.down:
                        heard = clock()  # the outage was no idleness
                    broker.heard()
                else:
                    broker.silent()
            if idle_s is not None and not broker.down and clock() - heard >= idle_s:
                report.stopped_by = "idle"
                return
            continue
        broker.heard()
        heard = broker.answered
        unflushed = True
        for partition, messages in batches.items():
            if partition not in open_partitions:
                continue
            topic = partition[0]
            end = None if ends is None else ends[partition]
            count = 0
            done: Message | None = None
            try:
                for message in messages:
                    if until is not None and (
                        message.timestamp >= until or (end is not None and message.offset >= end)
                    ):
                        open_partitions.discard(partition)
                        source.pause(partition)
                        break
                    value = message.value
                    if not value:
                        report.empty += 1
                        done = message
                        continue
                    if b"\n" in value:
                        value = as_line(value)
                        report.joined += 1
                    ts = event_ts(value)
                    if ts is not None:
                        if first is None or ts < first:
                            first = report.first_ts = ts
                        if last is None or ts > last:
                            last = report.last_ts = ts
                    send(topic, "", value)
                    count += 1
                    done = message
            finally:
                written[topic] += count
                if done is not None:
                    positions[partition] = done.offset + 1
                    last_time[partition] = done.timestamp
