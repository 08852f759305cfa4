"""Where a queue_log adapter stopped, kept on disk: the file, the offset of the next line, and
what the translation knew of the floor there (without it, the lines after the offset would be
read by a translation that has not seen who is logged in, paused or on a call).

A checkpoint is written after the events before it were delivered, and replaced atomically, so a
restart reads again at most what was sent after it: duplicates, which the engine ignores.

Exceptions:

    CheckpointError(Exception)   the checkpoint cannot be read or written; one line says why
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import msgspec

from producers.asterisk.follow import Position
from producers.asterisk.state import State
from producers.whole_file import write_whole

VERSION = 1


class CheckpointError(Exception):
    """The checkpoint cannot be used; the message says why and what to do."""


class Checkpoint(msgspec.Struct):
    queue_log: str
    """The path followed, so that a checkpoint is not used for another file by mistake."""
    position: Position
    state: State
    version: int = VERSION


def default_path(queue_log: Path) -> Path:
    """`.floorpulse/checkpoints/` under the working directory, one file per queue_log."""
    digest = hashlib.sha256(str(queue_log.resolve()).encode()).hexdigest()[:12]
    return Path(".floorpulse") / "checkpoints" / f"asterisk-{queue_log.name}-{digest}.json"


def load(path: Path, queue_log: Path) -> Checkpoint | None:
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
            f"the checkpoint {path} is damaged ({exc}): move it away to read the queue_log "
            "from its start (the engine ignores the events sent again)"
        ) from None
    if checkpoint.version != VERSION:
        raise CheckpointError(f"the checkpoint {path} has version {checkpoint.version}")
    if Path(checkpoint.queue_log).resolve() != queue_log.resolve():
        raise CheckpointError(
            f"the checkpoint {path} belongs to {checkpoint.queue_log}, not {queue_log}: "
            "give each queue_log its own --checkpoint"
        )
    return checkpoint


def save(path: Path, checkpoint: Checkpoint) -> None:
    """Write the checkpoint whole or not at all."""
    try:
        write_whole(path, msgspec.json.encode(checkpoint))
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
