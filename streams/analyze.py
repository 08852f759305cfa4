"""The offline analyzer: a log read as a stream, folded by the engine into the report."""

from __future__ import annotations

import gc
import gzip
import heapq
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Final

from streams.codec import InvalidEvent, decode
from streams.engine import DEFAULT_PARAMS, EventCounts, Floor, Outcome, Params, build_report
from streams.engine.pacing import (
    DEFAULT_LIMITS,
    CampaignPacing,
    PacingLimits,
    campaign_inputs,
    checked_advice,
    state_ms,
    wrap_per_talk,
)

FAR_AHEAD_MS: Final = 86_400_000
"""An event stamped this much later than every other one is worth a warning (see Reading)."""
WATCHED: Final = 100
"""How many of the latest-stamped events are kept to look for such a gap."""


@dataclass
class Reading:
    """How reading the log went, beyond the report: what a person should be told.

    `analyze` has no clock, so it cannot tell a date in the future; it can tell events stamped
    more than a day after all the others (a dialer whose clock jumped, a year 9999): they set the
    window end, and every interval still open is stretched to them. The report stays the
    contract's; the lines are named so that the log can be checked.
    """

    lines: int = 0
    """Physical lines read, blank ones included."""
    stopped: str | None = None
    """Why reading ended before the end of the log (a truncated or corrupt `.gz`)."""
    latest: list[tuple[int, int]] = field(default_factory=list)
    """A min-heap of the latest `ts` applied, with their line numbers."""

    def far_ahead(self) -> list[tuple[int, int]]:
        """(line, ts) of the events stamped more than a day after every other event."""
        latest = sorted(self.latest, reverse=True)
        for i in range(len(latest) - 1):
            if latest[i][0] - latest[i + 1][0] > FAR_AHEAD_MS:
                return sorted((line, ts) for ts, line in latest[: i + 1])
        return []


def fold_lines(
    lines: Iterable[bytes], params: Params = DEFAULT_PARAMS, reading: Reading | None = None
) -> tuple[Floor, EventCounts]:
    """Apply every line; invalid lines are counted, never fatal.

    Duplicates are found across the whole log, as events.md asks of the offline analyzer, so this
    set grows with the log's distinct event ids (the only thing that does).
    """
    floor = Floor(params)
    # The fold makes no reference cycles, so the cycle collector's passes over a growing heap of
    # live tracks would only cost time; reference counting frees everything.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _fold(lines, floor, reading or Reading())
    finally:
        if gc_was_enabled:
            gc.enable()


def _fold(lines: Iterable[bytes], floor: Floor, reading: Reading) -> tuple[Floor, EventCounts]:
    counts = EventCounts()
    seen: set[str] = set()
    apply = floor.apply
    late = Outcome.LATE
    latest = reading.latest
    watched_from = 0
    lines_read = invalid = duplicate = late_count = number = 0
    try:
        for number, line in enumerate(lines, 1):
            try:
                event = decode(line)
            except InvalidEvent:
                if line.strip():
                    lines_read += 1
                    invalid += 1
                continue
            lines_read += 1
            event_id = event.event_id
            if event_id in seen:
                duplicate += 1
                continue
            seen.add(event_id)
            if apply(event) is late:
                late_count += 1
            elif event.ts > watched_from:
                # A late event is applied at its entity's time, never later than the others.
                if len(latest) < WATCHED:
                    heapq.heappush(latest, (event.ts, number))
                else:
                    heapq.heappushpop(latest, (event.ts, number))
                    watched_from = latest[0][0]
    except (EOFError, zlib.error, gzip.BadGzipFile) as exc:
        reading.stopped = str(exc) or type(exc).__name__
    reading.lines = number
    counts.lines, counts.invalid = lines_read, invalid
    counts.valid = lines_read - invalid
    counts.duplicate, counts.late = duplicate, late_count
    return floor, counts


def analyze(
    lines: Iterable[bytes], params: Params = DEFAULT_PARAMS, reading: Reading | None = None
) -> dict[str, Any]:
    floor, counts = fold_lines(lines, params, reading)
    floor.finalize()
    return build_report(floor, counts)


def analyze_with_pacing(
    lines: Iterable[bytes],
    params: Params = DEFAULT_PARAMS,
    reading: Reading | None = None,
    limits: PacingLimits = DEFAULT_LIMITS,
) -> tuple[dict[str, Any], dict[str, CampaignPacing]]:
    """The report, and the pacing advice of each outbound campaign (not a report field: the
    text report shows it)."""
    floor, counts = fold_lines(lines, params, reading)
    floor.finalize()
    return build_report(floor, counts), pacing(floor, limits)


def pacing(floor: Floor, limits: PacingLimits = DEFAULT_LIMITS) -> dict[str, CampaignPacing]:
    """Each outbound campaign's advice from its whole log, checked against the pace it ran (the
    people's ready time is in the log); campaigns with too few calls, or none of whose people's
    events are in the log, have none."""
    by_campaign = state_ms(floor.agents.values())
    wraps = wrap_per_talk(by_campaign)
    found = {}
    for name, track in sorted(floor.campaigns.items()):
        totals = track.totals
        wrap, ready_ms = wraps.get(name), by_campaign.get(name, [0])[0]
        inputs = None if wrap is None else campaign_inputs(totals, track.clock, wrap, None)
        if inputs is None or not ready_ms:
            continue
        observed = totals.rung_ms / ready_ms
        checked = checked_advice(inputs, observed, totals.answered_human, totals.abandoned, limits)
        if checked is not None:
            found[name] = checked
    return found
