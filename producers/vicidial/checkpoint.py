"""Where a VICIdial adapter stopped: the database it read and what the translation knew there
(the last id read of each table, the rows still open and what of them was sent).

Written after the events before it were delivered, replaced whole, so that a restart sends
again at most what was sent after it: duplicates, which the engine ignores.

Exceptions:

    CheckpointError(Exception)   the checkpoint cannot be read or written; one line says why
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from producers import checkpoints
from producers.checkpoints import CheckpointError as CheckpointError
from producers.vicidial.translate import State

VERSION = 1


class Checkpoint(msgspec.Struct):
    database: str
    """The database read (mysql://user@host:port/db), so that a checkpoint is not used for
    another by mistake."""
    state: State
    version: int = VERSION


def default_path(database: str) -> Path:
    """`.floorpulse/checkpoints/` under the working directory, one file per database."""
    return checkpoints.default_path("vicidial", database)


def load(path: Path, database: str) -> Checkpoint | None:
    """The checkpoint at `path`, or None when there is none yet."""
    checkpoint = checkpoints.read(path, Checkpoint, VERSION, "and start again with --since")
    if checkpoint is not None and checkpoint.database != database:
        raise CheckpointError(
            f"the checkpoint {path} belongs to {checkpoint.database}, not {database}: "
            "give each database its own --checkpoint"
        )
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    checkpoints.write(path, checkpoint)
