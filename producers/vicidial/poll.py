"""One poll of VICIdial's tables, and the loop of polls: the thin shell around the translation.

Each poll reads every table once (producers/vicidial/database.py), translates the rows and
returns their events in time order; the loop sends them, waits for their delivery, then saves
the checkpoint, and polls again at once while a table had more rows than one statement reads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from producers.asterisk.output import Output
from producers.vicidial import checkpoint
from producers.vicidial.database import BATCH, Database
from producers.vicidial.drop_rate import DropRate
from producers.vicidial.translate import CALL_LOOKBACK_S, Talk, Translator
from streams.events import Event


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
    events = translator.user_rows(users)
    cycles = database.agent_rows(state.agent_log_id, translator.open_cycles())
    events += translator.agent_rows(cycles)
    queue_calls = database.closer_rows(state.closecallid, translator.open_queue_calls())
    events += translator.closer_rows(queue_calls)
    calls = database.call_rows(translator.call_window(), state.calls_open)
    ended = [row for row in calls if row.end_epoch and row.uniqueid not in state.calls_sent]
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
    more = len(users) >= BATCH or len(cycles) >= BATCH or len(queue_calls) >= BATCH
    return Poll(events, more)


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
