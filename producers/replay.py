"""Replay a log: each line to its topic with its key, in file order, paced by its event time.

Lines are sent as they are, invalid events included (routing: `producers.routing`). Sending
in file order through one producer keeps every key's order. Pacing follows `ts` at `speed`,
from the first line sent; a line without a valid `ts` goes at once. With a range, a line without
a valid `ts` goes with the line before it (in, or out, of the range).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from producers.pacing import Pacer
from producers.routing import route_line, unroutable_reason
from producers.shift import with_ts
from producers.when import wall_ms
from streams.topics import AGENT_EVENTS, CALL_EVENTS

LISTED: Final = 20
"""Unroutable lines named one by one in the report; the rest are counted."""
SLACK_S: Final = 0.002
"""Waits shorter than this are skipped: waking up for each millisecond costs more than it paces."""
PROGRESS_EVERY: Final = 1024


class Send(Protocol):
    """Queue one message; raises SinkError when it cannot even be queued."""

    def __call__(self, topic: str, key: bytes | None, value: bytes, /) -> Awaitable[None]: ...


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
    topics, sent = options.topics, report.sent
    low, high = options.from_ms, options.to_ms
    ranged = low is not None or high is not None
    shifting = options.shift_to_now
    # Lines before the first timed one are in range only when the range is open at the start.
    in_range = low is None
    shift = first = last = None
    read = 0
    for number, raw in enumerate(lines, 1):
        if not number % PROGRESS_EVERY:
            if stopped():
                report.interrupted_at = number
                return
            if progress is not None:
                progress(report.total_sent, last, read)
        read += len(raw)
        line = raw.rstrip(b"\r\n")
        routed = route_line(line)
        if routed is None:
            report.not_routed(number, line)
            continue
        topic, key, ts = routed
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
        await send(topics[topic], key, line)
        sent[topic] += 1
