"""Where a VICIdial adapter stopped: the database it read and what the translation knew there
(the last id read of each table, the rows still open and what of them was sent).

Written after the events before it were delivered, replaced whole, so that a restart sends
again at most what was sent after it: duplicates, which the engine ignores.

Exceptions:

    CheckpointError(Exception)   the checkpoint cannot be read or written; one line says why
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from producers.vicidial.translate import State
from producers.whole_file import write_whole

VERSION = 1


class CheckpointError(Exception):
    """The checkpoint cannot be used; the message says why and what to do."""


class Checkpoint(msgspec.Struct):
    database: str
    """The database read (mysql://user@host:port/db), so that a checkpoint is not used for
    another by mistake."""
    state: State
    version: int = VERSION


def default_path(database: str) -> Path:
    """`.floorpulse/checkpoints/` under the working directory, one file per database."""
    digest = hashlib.sha256(database.encode()).hexdigest()[:12]
    return Path(".floorpulse") / "checkpoints" / f"vicidial-{digest}.json"


def load(path: Path, database: str) -> Checkpoint | None:
    """The checkpoint at `path`, or None when there is none yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint {path}: {exc.strerror}") from None
    try:
        checkpoint = msgspec.json.decode(data, type=Checkpoint)
    except msgspec.DecodeError as exc:
        raise CheckpointError(
            f"the checkpoint {path} is damaged ({exc}): move it away and start again with "
            "--since (the engine ignores the events sent again)"
        ) from None
    if checkpoint.version != VERSION:
        raise CheckpointError(f"the checkpoint {path} has version {checkpoint.version}")
    if checkpoint.database != database:
        raise CheckpointError(
            f"the checkpoint {path} belongs to {checkpoint.database}, not {database}: "
            "give each database its own --checkpoint"
        )
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    try:
        write_whole(path, msgspec.json.encode(checkpoint))
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
