"""The offline analyzer: a log read as a stream, folded by the engine into the report."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from streams.engine import DEFAULT_PARAMS, EventCounts, Floor, Params, build_report
from streams.engine.pacing import (
    DEFAULT_LIMITS,
    CampaignPacing,
    PacingLimits,
    campaign_inputs,
    checked_advice,
    state_ms,
    wrap_per_talk,
)
from streams.logfile import READ_ERRORS, batches, reads, whole_lines
from streams.logfold import Fold

FAR_AHEAD_MS: Final = 86_400_000
"""An event stamped this much later than every other one is worth a warning (see Reading)."""


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
    """The latest `ts` applied, with their line numbers, in order (logfold.WATCHED of them)."""

    def far_ahead(self) -> list[tuple[int, int]]:
        """(line, ts) of the events stamped more than a day after every other event."""
        latest = sorted(self.latest, reverse=True)
        for i in range(len(latest) - 1):
            if latest[i][0] - latest[i + 1][0] > FAR_AHEAD_MS:
                return sorted((line, ts) for ts, line in latest[: i + 1])
        return []


def fold_lines(
    log: Iterable[bytes],
    params: Params = DEFAULT_PARAMS,
    reading: Reading | None = None,
    jobs: int = 1,
) -> tuple[Floor, EventCounts]:
    """Apply every line of a log: an iterable of its lines, or a binary file, which is read in
    chunks rather than line by line; invalid lines are counted, never fatal. With `jobs` above 1
    a file is folded by that many processes (analyze_jobs), with the same result."""
    reading = reading or Reading()
    # The fold makes no reference cycles, so the cycle collector's passes over a growing heap of
    # live tracks would only cost time; reference counting frees everything.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        if jobs == 1:
            return _fold(log, params, reading)
        if not isinstance(log, io.BufferedIOBase):
            raise ValueError("only a log read from a file can be folded by several processes")
        from streams.analyze_jobs import fold_in_jobs

        return fold_in_jobs(reads(log), params, reading, jobs)
    finally:
        if gc_was_enabled:
            gc.enable()


def _fold(log: Iterable[bytes], params: Params, reading: Reading) -> tuple[Floor, EventCounts]:
    fold = Fold(params)
    try:
        for lines, text in _parts(log):
            fold.feed(lines, text, reading.lines)
            reading.lines += len(lines)
    except READ_ERRORS as exc:
        reading.stopped = str(exc) or type(exc).__name__
    reading.latest = fold.latest
    return fold.floor, fold.counts()


def _parts(log: Iterable[bytes]) -> Iterator[tuple[list[bytes], bytes]]:
    """The log's lines in lists, each with its text for the UTF-8 check: a file's chunks split
    into lines, or an iterable's lines in batches."""
    if isinstance(log, io.BufferedIOBase):
        for chunk in whole_lines(reads(log)):
            lines = chunk.split(b"\n")
            lines.pop()
            yield lines, chunk
    else:
        for lines in batches(log):
            yield lines, b"\n".join(lines)


def analyze(
    log: Iterable[bytes],
    params: Params = DEFAULT_PARAMS,
    reading: Reading | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """The report of a log: its lines, or a binary file (see fold_lines)."""
    floor, counts = fold_lines(log, params, reading, jobs)
    floor.finalize()
    return build_report(floor, counts)


def analyze_with_pacing(
    log: Iterable[bytes],
    params: Params = DEFAULT_PARAMS,
    reading: Reading | None = None,
    limits: PacingLimits = DEFAULT_LIMITS,
    jobs: int = 1,
) -> tuple[dict[str, Any], dict[str, CampaignPacing]]:
    """The report, and the pacing advice of each outbound campaign (not a report field: the
    text report shows it)."""
    floor, counts = fold_lines(log, params, reading, jobs)
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
