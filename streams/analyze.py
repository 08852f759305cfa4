"""The offline analyzer: a log read as a stream, folded by the engine into the report."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from typing import Any

from streams.codec import InvalidEvent, decode
from streams.engine import DEFAULT_PARAMS, EventCounts, Floor, Outcome, Params, build_report


def fold_lines(
    lines: Iterable[bytes], params: Params = DEFAULT_PARAMS
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
        return _fold(lines, floor)
    finally:
        if gc_was_enabled:
            gc.enable()


def _fold(lines: Iterable[bytes], floor: Floor) -> tuple[Floor, EventCounts]:
    counts = EventCounts()
    seen: set[str] = set()
    apply = floor.apply
    late = Outcome.LATE
    lines_read = invalid = duplicate = late_count = 0
    for line in lines:
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
    counts.lines, counts.invalid = lines_read, invalid
    counts.valid = lines_read - invalid
    counts.duplicate, counts.late = duplicate, late_count
    return floor, counts


def analyze(lines: Iterable[bytes], params: Params = DEFAULT_PARAMS) -> dict[str, Any]:
    floor, counts = fold_lines(lines, params)
    floor.finalize()
    return build_report(floor, counts)
