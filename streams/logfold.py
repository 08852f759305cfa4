"""One process's fold of log lines: decoded a chunk at a time, applied straight to a floor."""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress
from operator import attrgetter
from typing import Final

from streams.codec import InvalidEvent, decode, decode_all, decode_lines
from streams.engine import EventCounts, Floor, Outcome, Params
from streams.events import Event

WATCHED: Final = 100
"""How many of the latest-stamped events are kept to look for a jump in time (see Reading)."""
_TS: Final = attrgetter("ts")


class Fold:
    """Lines into a floor: invalid lines counted, duplicates (by event id, across every line this
    fold is given) skipped, the latest-stamped events kept with their line numbers.

    The set of event ids grows with the log's distinct ids, as events.md asks of the offline
    analyzer (duplicates are found across the whole log); nothing else does.
    """

    def __init__(self, params: Params) -> None:
        self.floor = Floor(params)
        self.seen: set[str] = set()
        self.latest: list[tuple[int, int]] = []
        """The latest `ts` applied, with their line numbers, in order (so a min-heap too)."""
        self._lines = self._invalid = self._duplicate = self._late = 0

    def feed(self, lines: list[bytes], text: bytes, first: int) -> None:
        """Apply lines numbered from `first + 1`; `text` is them joined by newlines, so that
        UTF-8 can be checked once."""
        numbers: Sequence[int] = range(first + 1, first + 1 + len(lines))
        events = decode_all(lines, text)
        if events is None:
            events, numbers = self._decode_each(lines, numbers)
        else:
            self._lines += len(events)
        self._apply(events, numbers)

    def feed_routed(self, chunk: bytes, numbers: Sequence[int]) -> None:
        """Apply a chunk of whole lines, numbered `numbers` in the log, each of which holds one
        JSON value and nothing else (analyze_jobs routed them)."""
        events = decode_lines(chunk, len(numbers))
        if events is None:
            lines = chunk.split(b"\n")
            lines.pop()
            events, numbers = self._decode_each(lines, numbers)
        else:
            self._lines += len(events)
        self._apply(events, numbers)

    def repeat(self, line: bytes) -> None:
        """Count a line whose event id an event applied elsewhere already had: a duplicate when
        it is valid (another process owns that id's first event)."""
        self._lines += 1
        try:
            decode(line)
        except InvalidEvent:
            self._invalid += 1
        else:
            self._duplicate += 1

    def counts(self) -> EventCounts:
        return EventCounts(
            lines=self._lines,
            valid=self._lines - self._invalid,
            invalid=self._invalid,
            duplicate=self._duplicate,
            late=self._late,
        )

    def _decode_each(
        self, lines: list[bytes], numbers: Sequence[int]
    ) -> tuple[list[Event], list[int]]:
        """The valid lines' events and numbers, one line at a time: blank lines are no lines of
        the log's count, invalid ones are counted."""
        events, valid_numbers = [], []
        for number, line in zip(numbers, lines, strict=True):
            try:
                events.append(decode(line))
            except InvalidEvent:
                if line.strip():
                    self._lines += 1
                    self._invalid += 1
                continue
            valid_numbers.append(number)
            self._lines += 1
        return events, valid_numbers

    def _apply(self, events: list[Event], numbers: Sequence[int]) -> None:
        # The hot loop of `analyze`: everything it touches is a local, and what can wait for the
        # end of the chunk does.
        seen, apply, late = self.seen, self.floor.apply, Outcome.LATE
        remember = seen.add
        skipped: list[int] = []
        duplicate = 0
        for i, event in enumerate(events):
            event_id = event.event_id
            if event_id in seen:
                duplicate += 1
                skipped.append(i)
                continue
            remember(event_id)
            if apply(event) is late:
                skipped.append(i)
        self._duplicate += duplicate
        self._late += len(skipped) - duplicate
        self._watch(events, numbers, skipped)

    def _watch(self, events: list[Event], numbers: Sequence[int], skipped: list[int]) -> None:
        """Keep the WATCHED latest (ts, line) of the events applied on time (a late event is
        applied at its entity's time, never later than the others)."""
        stamps = list(map(_TS, events))
        for i in skipped:
            stamps[i] = 0
        latest = self.latest
        if len(latest) == WATCHED and max(stamps, default=0) <= latest[0][0]:
            return
        # Only the pairs that can be among the latest are made and sorted, picked by loops in C:
        # those stamped no earlier than the chunk's WATCHED-th latest stamp, nor than the
        # earliest kept; skipped events (stamped 0 here) never.
        cut = sorted(stamps)[-WATCHED] if len(stamps) > WATCHED else 1
        if len(latest) == WATCHED:
            cut = max(cut, latest[0][0])
        newest = compress(zip(stamps, numbers, strict=True), map(max(cut, 1).__le__, stamps))
        self.latest = sorted([*latest, *newest])[-WATCHED:]
