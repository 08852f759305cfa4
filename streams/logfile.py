"""Event logs on disk: JSON Lines, gzip-compressed or not, or standard input (`-`)."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_log(path: str) -> Iterator[BinaryIO]:
    """Open a log for reading lines as bytes. Gzip is recognised by its magic bytes."""
    raw: BinaryIO = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
    try:
        buffered = raw if isinstance(raw, io.BufferedReader) else io.BufferedReader(raw)  # type: ignore[arg-type]
        if buffered.peek(2)[:2] == GZIP_MAGIC:
            yield io.BufferedReader(gzip.GzipFile(fileobj=buffered), 1 << 16)  # type: ignore[arg-type]
        else:
            yield buffered
    finally:
        if path != "-":
            raw.close()
