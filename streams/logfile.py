"""Event logs on disk: JSON Lines, gzip-compressed or not, or standard input (`-`)."""

from __future__ import annotations

import gzip
import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, cast

GZIP_MAGIC = b"\x1f\x8b"


@contextmanager
def open_log(path: str) -> Iterator[IO[bytes]]:
    """Open a log for reading lines as bytes. Gzip is recognised by its magic bytes, so a
    compressed log piped to standard input works too."""
    raw = sys.stdin.buffer if path == "-" else Path(path).open("rb")  # noqa: SIM115
    try:
        reader = (
            raw
            if isinstance(raw, io.BufferedReader)
            else io.BufferedReader(cast(io.RawIOBase, raw))
        )
        if reader.peek(2)[:2] == GZIP_MAGIC:
            yield io.BufferedReader(cast(io.RawIOBase, gzip.GzipFile(fileobj=reader)), 1 << 16)
        else:
            yield reader
    finally:
        if path != "-":
            raw.close()
