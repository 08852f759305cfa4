"""One poll of VICIdial's tables, and the loop of polls: the thin shell around the translation.

Each poll reads every table once (producers/vicidial/database.py), translates the rows and
returns their events in time order; the loop sends them, waits for their delivery, then saves
the checkpoint, and polls again at once while rows are left to read.

A poll takes the new rows of at most SPAN_S of VICIdial's time, leaving later ones to the next
poll: an adapter stopped hard between sending and saving its checkpoint sends that poll's events
again when it restarts, and a live worker recognises a repeat only within the last minutes of
its agent's or its campaign's time (events.md, "Duplicates and lateness"). Live, a poll holds a
second or so; catching up a backlog, this keeps what a restart repeats within what is
recognised.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, TypeVar

from producers.output import Output
from producers.vicidial import checkpoint
from producers.vicidial.database import BATCH, Database
from producers.vicidial.drop_rate import DropRate
from producers.vicidial.rows import AgentLogRow, CloserLogRow
from producers.vicidial.translate import CALL_LOOKBACK_S, Talk, Translator
from streams.events import Event

Row = TypeVar("Row")


@dataclass
class Poll:
    events: list[Event]
    more: bool
    """A table had a full batch: poll again without waiting."""


def start_from(database: Database, translator: Translator, since_epoch: int) -> None:
    """A first run reads the rows of `since_epoch` on."""
    state = translator.state
    state.agent_log_id, state.user_log_id, state.closecallid = database.first_ids(since_epoch)
    state.newest_call_start = since_epoch + CALL_LOOKBACK_S


def poll(database: Database, translator: Translator) -> Poll:
    state = translator.state
    users = database.user_rows(state.user_log_id)
    cycles = database.agent_rows(state.agent_log_id, translator.open_cycles())
    queue_calls = database.closer_rows(state.closecallid, translator.open_queue_calls())
    calls = database.call_rows(translator.call_window(), state.calls_open)
    full = len(users) >= BATCH or len(cycles) >= BATCH or len(queue_calls) >= BATCH
    new_cycles = [row for row in cycles if row.agent_log_id > state.agent_log_id]
    new_queue_calls = [row for row in queue_calls if row.closecallid > state.closecallid]
    ended = [row for row in calls if row.end_epoch and row.uniqueid not in state.calls_sent]

    span = _Span.of(
        [
            *[row.event_epoch for row in users[:1]],
            *[_cycle_start(row) for row in new_cycles[:1]],
            *[_queue_call_last(row) for row in new_queue_calls[:1]],
            *[row.end_epoch for row in ended],
        ]
    )
    users = span.prefix(users, lambda row: row.event_epoch)
    taken = {row.agent_log_id for row in span.prefix(new_cycles, _cycle_start)}
    cycles = [r for r in cycles if r.agent_log_id <= state.agent_log_id or r.agent_log_id in taken]
    taken = {row.closecallid for row in span.prefix(new_queue_calls, _queue_call_last)}
    queue_calls = [
        r for r in queue_calls if r.closecallid <= state.closecallid or r.closecallid in taken
    ]
    later = {row.uniqueid for row in ended if not span.holds(row.end_epoch)}
    ended = [row for row in ended if row.uniqueid not in later]
    # As the table stood at `until`: a call that ended after it was still going on then.
    calls = [row._replace(end_epoch=None) if row.uniqueid in later else row for row in calls]
    calls = [row for row in calls if row.end_epoch or span.holds(row.start_epoch)]

    events = translator.user_rows(users)
    events += translator.agent_rows(cycles)
    events += translator.closer_rows(queue_calls)
    for row in ended:
        if translator.wants_talk(row) and row.user:
            found = database.talk(row.user, row.uniqueid)
            if found is not None:
                epoch, group = found
                translator.talked(
                    row.uniqueid, Talk(epoch, row.user, translator.config.team(group))
                )
    events += translator.call_rows(calls, database.dials([row.uniqueid for row in ended]))
    events.sort(key=lambda event: event.ts)
    return Poll(events, full or span.cut)


SPAN_S: Final = 60
"""VICIdial's seconds of new rows one poll takes."""


def _cycle_start(row: AgentLogRow) -> int | None:
    return row.pause_epoch or row.wait_epoch


def _queue_call_last(row: CloserLogRow) -> int | None:
    # By its end: an in-group call is sent whole, and its campaign's time must not run ahead of
    # its other calls by more than a worker remembers.
    return row.end_epoch or row.start_epoch


@dataclass
class _Span:
    """The new rows a poll takes: those that begin before `until`, each table's in id order up
    to the first that does not (so no row is passed over). `until` is SPAN_S after the earliest
    of what could come first, so that each poll takes at least one row."""

    until: int | None
    cut: bool = False

    @classmethod
    def of(cls, firsts: list[int | None]) -> _Span:
        known = [epoch for epoch in firsts if epoch]
        return cls(min(known) + SPAN_S if known else None)

    def holds(self, epoch: int | None) -> bool:
        held = self.until is None or not epoch or epoch < self.until
        self.cut = self.cut or not held
        return held

    def prefix(self, rows: list[Row], start: Callable[[Row], int | None]) -> list[Row]:
        for index, row in enumerate(rows):
            if not self.holds(start(row)):
                return rows[:index]
        return rows


@dataclass
class Loop:
    database: Database
    translator: Translator
    output: Output
    checkpoint_path: Path | None
    every_s: float
    until_idle_s: float | None
    stop: threading.Event
    clock: Callable[[], float] = time.monotonic
    drops: DropRate = field(default_factory=DropRate)

    def run(self) -> None:
        quiet_since = self.clock()
        while not self.stop.is_set():
            result = poll(self.database, self.translator)
            if result.events:
                self.drops.add(result.events)
                self.output.send(result.events)
                self.output.flush()
                quiet_since = self.clock()
            if self.checkpoint_path is not None:
                checkpoint.save(
                    self.checkpoint_path,
                    checkpoint.Checkpoint(str(self.database.dsn), self.translator.state),
                )
            if result.more:
                continue
            if self.until_idle_s is not None and self.clock() - quiet_since >= self.until_idle_s:
                return
            self.stop.wait(self.every_s)
