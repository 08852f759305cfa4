"""What every adapter's checkpoint file shares: where it lives by default, reading it with one
clear line when it cannot be used, and writing it whole or not at all (a checkpoint half written
would resume from nowhere). Each dialer's own module says what its checkpoint holds and what it
belongs to (producers/<dialer>/checkpoint.py).

Exceptions:

    CheckpointError(Exception)   the checkpoint cannot be read or written; one line says why
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Protocol, TypeVar

import msgspec


class CheckpointError(Exception):
    """The checkpoint cannot be used; the message says why and what to do."""


class Versioned(Protocol):
    version: int


C = TypeVar("C", bound=Versioned)


def default_path(name: str, identity: str) -> Path:
    """`.floorpulse/checkpoints/NAME-DIGEST.json` under the working directory, one file for each
    thing an adapter reads (`identity`)."""
    digest = hashlib.sha256(identity.encode()).hexdigest()[:12]
    return Path(".floorpulse") / "checkpoints" / f"{name}-{digest}.json"


def read(path: Path, kind: type[C], version: int, start_again: str) -> C | None:
    """The checkpoint at `path`, or None when there is none yet. `start_again` tells how to
    start without it, when it is damaged."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CheckpointError(f"cannot read the checkpoint {path}: {exc.strerror}") from None
    try:
        checkpoint = msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as exc:
        raise CheckpointError(
            f"the checkpoint {path} is damaged ({exc}): move it away {start_again} "
            "(the engine ignores the events sent again)"
        ) from None
    if checkpoint.version != version:
        raise CheckpointError(f"the checkpoint {path} has version {checkpoint.version}")
    return checkpoint


def write(path: Path, checkpoint: msgspec.Struct) -> None:
    """Write to a file beside `path`, flush it to disk, then rename it over `path`."""
    part = path.with_name(path.name + ".part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with part.open("wb") as file:
            file.write(msgspec.json.encode(checkpoint))
            file.flush()
            os.fsync(file.fileno())
        part.replace(path)
    except OSError as exc:
        raise CheckpointError(f"cannot write the checkpoint {path}: {exc.strerror}") from None
