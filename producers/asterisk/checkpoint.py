"""Where a queue_log adapter stopped, kept on disk: the file, the offset of the next line, and
what the translation knew of the floor there (without it, the lines after the offset would be
read by a translation that has not seen who is logged in, paused or on a call).

A checkpoint is written after the events before it were delivered, and replaced atomically, so a
restart reads again at most what was sent after it: duplicates, which the engine ignores.

Exceptions:

    CheckpointError(Exception)   the checkpoint cannot be read or written; one line says why
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from producers import checkpoints
from producers.asterisk.follow import Position
from producers.asterisk.state import State
from producers.checkpoints import CheckpointError as CheckpointError

VERSION = 1


class Checkpoint(msgspec.Struct):
    queue_log: str
    """The path followed, so that a checkpoint is not used for another file by mistake."""
    position: Position
    state: State
    version: int = VERSION


def default_path(queue_log: Path) -> Path:
    """`.floorpulse/checkpoints/` under the working directory, one file per queue_log."""
    return checkpoints.default_path(f"asterisk-{queue_log.name}", str(queue_log.resolve()))


def load(path: Path, queue_log: Path) -> Checkpoint | None:
    """The checkpoint at `path`, or None when there is none yet."""
    checkpoint = checkpoints.read(path, Checkpoint, VERSION, "to read the queue_log from its start")
    if checkpoint is not None and Path(checkpoint.queue_log).resolve() != queue_log.resolve():
        raise CheckpointError(
            f"the checkpoint {path} belongs to {checkpoint.queue_log}, not {queue_log}: "
            "give each queue_log its own --checkpoint"
        )
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    checkpoints.write(path, checkpoint)
