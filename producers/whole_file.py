"""A file replaced whole or not at all: what an adapter's checkpoint needs, since a checkpoint
half written would resume from nowhere."""

from __future__ import annotations

import os
from pathlib import Path


def write_whole(path: Path, data: bytes) -> None:
    """Write `data` to a file beside `path`, flush it to disk, then rename it over `path`.
    Raises OSError."""
    part = path.with_name(path.name + ".part")
    path.parent.mkdir(parents=True, exist_ok=True)
    with part.open("wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())
    part.replace(path)
