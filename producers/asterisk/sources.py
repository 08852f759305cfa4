"""The file sources of an Asterisk floor, each read into its translation and on to the output: a
queue_log (whole, or followed with a checkpoint) and an AMI capture."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Final, Literal

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.capture import read_capture
from producers.asterisk.follow import Position, QueueLogFile
from producers.asterisk.queue_log import QueueLogTranslator
from producers.asterisk.state import State
from producers.output import Output

MARGIN_MS: Final = 2000
"""While a followed log is quiet, time is taken to pass as on the clock, less this: Asterisk
stamps lines in whole seconds and writes them at once, so a line never lags this much."""
SAVE_EVERY_S: Final = 1.0


@dataclass
class Run:
    """How a source ended, and what a person should know of it."""

    stopped_by: Literal["end", "idle", "request"] = "end"
    notes: list[str] = field(default_factory=list)
    untimed: int = 0
    """Captured events with no time (no `# recv` line before them, no Timestamp)."""


Save = Callable[[Position, State], None]


def read_queue_log(
    file: QueueLogFile,
    translator: QueueLogTranslator,
    output: Output,
    *,
    save: Save | None,
    until_idle_s: float | None,
    stop: threading.Event,
    clock: Callable[[], float] = time.monotonic,
    poll_s: float = 0.25,
) -> Run:
    """Translate the file's lines until its end (whole) or until idle or asked to stop
    (following). At an end or after idling, wrap-ups still running end as configured; a stop
    request keeps them in the checkpoint for the next run."""
    run = Run()
    heard = saved = clock()

    def deliver(force: bool = False) -> None:
        nonlocal saved
        if force or clock() - saved >= SAVE_EVERY_S:
            output.flush()
            if save is not None and file.position is not None:
                save(file.position, translator.state)
            saved = clock()

    try:
        while not stop.is_set():
            batch = file.read()
            if batch:
                for read in batch:
                    output.send(translator.line(read.raw, read.file_id, read.offset, read.number))
                deliver()
                heard = clock()
                continue
            if not file.follow:
                break
            if until_idle_s is not None and clock() - heard >= until_idle_s:
                run.stopped_by = "idle"
                break
            passed = translator.latest + int((clock() - heard) * 1000) - MARGIN_MS
            output.send(translator.advance(passed))
            deliver()
            stop.wait(poll_s)
        else:
            run.stopped_by = "request"
        if run.stopped_by != "request":
            output.send(translator.finish())
        deliver(force=True)
    finally:
        file.close()
        run.notes += file.notes
    return run


def read_ami_capture(
    lines: Iterable[str], translator: AmiTranslator, output: Output, *, stop: threading.Event
) -> Run:
    """Translate a capture's events in order, each at its recorded time."""
    run = Run()
    for captured in read_capture(lines):
        if stop.is_set():
            run.stopped_by = "request"
            break
        if "Event" not in captured.message:
            continue
        if captured.ts is None:
            run.untimed += 1
            continue
        output.send(translator.event(captured.message, captured.ts, captured.where))
    else:
        output.send(translator.finish())
    output.flush()
    return run
