"""Replay a log: each line to its topic with its key, in file order, paced by its event time.

Lines are sent as they are, invalid events included (routing: `producers.routing`). Sending
in file order through one producer keeps every key's order. Pacing follows `ts` at `speed`,
from the first line sent; a line without a valid `ts` goes at once. With a range, a line without
a valid `ts` goes with the line before it (in, or out, of the range).

A broker that goes away is waited for: `watch` tells an Outage when the broker stops taking
messages and when it takes them again, and returns once one has waited `retry_for_s`, so that
the caller can give up and name the first line it cannot vouch for (`resume_line`).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, Protocol

from producers.pacing import Pacer
from producers.routing import route_line, unroutable_reason
from producers.shift import with_ts
from producers.when import wall_ms
from streams.topics import AGENT_EVENTS, CALL_EVENTS

if TYPE_CHECKING:
    from streams.outage_log import Outage

LISTED: Final = 20
"""Unroutable lines named one by one in the report; the rest are counted."""
SLACK_S: Final = 0.002
"""Waits shorter than this are skipped: waking up for each millisecond costs more than it paces."""
PROGRESS_EVERY: Final = 1024
NOTICE_S: Final = 3.0
"""A message waiting this long while the broker takes nothing: the broker is unreachable."""
WATCH_EVERY_S: Final = 0.5


class Send(Protocol):
    """Queue one message, the log's line `number`; raises SinkError when it cannot even be
    queued."""

    def __call__(
        self, topic: str, key: bytes | None, value: bytes, number: int, /
    ) -> Awaitable[None]: ...


class Deliveries(Protocol):
    """What `watch` asks of a sender (KafkaSender) about the messages it has queued."""

    @property
    def settled(self) -> int:
        """Messages the broker has taken or refused so far."""
        ...

    def oldest_waiting(self) -> int | None:
        """The line number of the oldest message the broker has not settled."""
        ...


Progress = Callable[[int, int | None, int], None]
"""(events sent, event time reached, bytes of the log read)."""


@dataclass(frozen=True, slots=True)
class ReplayOptions:
    speed: float | None = None
    """1 is real time, 60 a minute a second; None is as fast as possible."""
    shift_to_now: bool = False
    """Move every `ts` by one offset so that the first line sent happens now."""
    from_ms: int | None = None
    to_ms: int | None = None
    """Send lines whose `ts` is in [from_ms, to_ms): event time of the log, before any shift."""
    topics: Mapping[str, str] = field(
        default_factory=lambda: {AGENT_EVENTS: AGENT_EVENTS, CALL_EVENTS: CALL_EVENTS}
    )
    """Where each contract topic's lines go (the same names, except in tests)."""
    from_line: int = 1
    """The first line to send (1: the first of the log); lines before it are read, not sent."""


@dataclass(slots=True)
class ReplayReport:
    sent: dict[str, int] = field(default_factory=lambda: {AGENT_EVENTS: 0, CALL_EVENTS: 0})
    """Lines queued per contract topic."""
    null_keys: int = 0
    """Of those, lines sent with a null key (their key field missing or not a string)."""
    unroutable: int = 0
    unroutable_lines: list[tuple[int, str]] = field(default_factory=list)
    """(line number, why) of the first LISTED unroutable lines."""
    blank: int = 0
    out_of_range: int = 0
    first_ts: int | None = None
    last_ts: int | None = None
    """Smallest and largest event time sent, as in the log (before any shift)."""
    shift_ms: int | None = None
    interrupted_at: int | None = None
    """The first line left unsent because a stop request ended the replay, if one did."""
    skipped: int = 0
    """Lines before `from_line`."""
    next_line: int = 1
    """The first line not yet dealt with (sent, or left out): where the replay is."""
    elapsed_s: float = 0.0

    @property
    def total_sent(self) -> int:
        return sum(self.sent.values())

    def not_routed(self, number: int, line: bytes) -> None:
        if not line.strip():
            self.blank += 1
            return
        self.unroutable += 1
        if len(self.unroutable_lines) < LISTED:
            self.unroutable_lines.append((number, unroutable_reason(line)))


async def replay(
    lines: Iterable[bytes],
    send: Send,
    options: ReplayOptions | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    now_ms: Callable[[], int] = wall_ms,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    stopped: Callable[[], bool] = lambda: False,
    progress: Progress | None = None,
    report: ReplayReport | None = None,
) -> ReplayReport:
    """Send every line of `lines` (bytes, newline optional) and report what was sent, in
    `report` if one is given: it then holds what was done even when an exception ends the run.

    `sleep` should return early once a stop is requested; `stopped` is asked after every wait
    and every PROGRESS_EVERY lines.
    """
    options = options or ReplayOptions()
    report = ReplayReport() if report is None else report
    started = clock()
    try:
        await _replay(lines, send, options, report, clock, now_ms, sleep, stopped, progress)
    finally:
        report.elapsed_s = clock() - started
    return report


async def _replay(
    lines: Iterable[bytes],
    send: Send,
    options: ReplayOptions,
    report: ReplayReport,
    clock: Callable[[], float],
    now_ms: Callable[[], int],
    sleep: Callable[[float], Awaitable[None]],
    stopped: Callable[[], bool],
    progress: Progress | None,
) -> None:
    pacer = None if options.speed is None else Pacer(options.speed, clock=clock)
    topics, sent, from_line = options.topics, report.sent, options.from_line
    low, high = options.from_ms, options.to_ms
    ranged = low is not None or high is not None
    shifting = options.shift_to_now
    # Lines before the first timed one are in range only when the range is open at the start.
    in_range = low is None
    shift = first = last = None
    read = number = 0
    for number, raw in enumerate(lines, 1):
        report.next_line = number
        if not number % PROGRESS_EVERY:
            if stopped():
                report.interrupted_at = number
                return
            if progress is not None:
                progress(report.total_sent, last, read)
        read += len(raw)
        if number < from_line and not ranged:
            report.skipped += 1
            continue
        line = raw.rstrip(b"\r\n")
        routed = route_line(line)
        if routed is None:
            if number < from_line:
                report.skipped += 1
            else:
                report.not_routed(number, line)
            continue
        topic, key, ts = routed
        if number < from_line:
            # Read only for the range: a line without a ts goes with the line before it.
            if ts is not None:
                in_range = (low is None or ts >= low) and (high is None or ts < high)
            report.skipped += 1
            continue
        if ts is not None:
            if ranged:
                in_range = (low is None or ts >= low) and (high is None or ts < high)
            if in_range:
                if pacer is not None:
                    ahead = pacer.wall_time(ts) - clock()
                    if ahead >= SLACK_S:
                        await sleep(ahead)
                        if stopped():
                            report.interrupted_at = number
                            return
                        if progress is not None:
                            progress(report.total_sent, ts, read)
                if shifting:
                    if shift is None:
                        shift = report.shift_ms = now_ms() - ts
                    line = with_ts(line, ts, ts + shift)
                if first is None or ts < first:
                    first = report.first_ts = ts
                if last is None or ts > last:
                    last = report.last_ts = ts
        if not in_range:
            report.out_of_range += 1
            continue
        if key is None:
            report.null_keys += 1
        await send(topics[topic], key, line, number)
        sent[topic] += 1
    report.next_line = number + 1


async def watch(
    deliveries: Deliveries,
    outage: Outage,
    retry_for_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    notice_s: float = NOTICE_S,
) -> int:
    """Watch the broker take what is queued, telling `outage`: down once a message has waited
    `notice_s` with nothing taken meanwhile, up once the broker takes messages again, a line a
    minute between. Return the line number of a message that has waited `retry_for_s`, the
    moment one has; until then, run until cancelled. (Times are when this watch, looking every
    WATCH_EVERY_S, first saw a message waiting or a message settled.)"""
    settled, progress = deliveries.settled, clock()
    oldest: int | None = None
    seen = progress
    while True:
        await sleep(WATCH_EVERY_S)
        now = clock()
        if deliveries.settled != settled:
            settled, progress = deliveries.settled, now
        number = deliveries.oldest_waiting()
        if number != oldest:
            oldest, seen = number, now
        since = outage.since
        if since is not None and (number is None or progress > since):
            outage.up()
        if number is None:
            continue
        if now - seen >= retry_for_s:
            return number
        stalled = max(progress, seen)
        if now - stalled >= notice_s:
            outage.down(since=stalled)
        outage.tick()


def resume_line(report: ReplayReport, deliveries: Deliveries) -> int:
    """The first line that the broker may not have: every line before it was taken (or left
    out); some after it may have been taken too."""
    oldest = deliveries.oldest_waiting()
    return report.next_line if oldest is None else min(oldest, report.next_line)
