"""Event logs on disk: JSON Lines, gzip-compressed or not, or standard input (`-`)."""

from __future__ import annotations

import gzip
import io
import sys
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Final, cast

GZIP_MAGIC = b"\x1f\x8b"
READ_ERRORS: Final = (EOFError, zlib.error, gzip.BadGzipFile)
"""How a log that ends early (a truncated or corrupt `.gz`) fails: what was read before still
counts. Other errors (the file cannot be read at all) are the reader's."""
READ_BYTES: Final = 1 << 16
"""How much one read takes, and about how long a chunk of whole lines is: small enough for the
processor's cache, large enough that what is done once per chunk costs nothing per line."""


@contextmanager
def open_log(path: str) -> Iterator[io.BufferedReader]:
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
            yield io.BufferedReader(cast(io.RawIOBase, gzip.GzipFile(fileobj=reader)), READ_BYTES)
        else:
            yield reader
    finally:
        if path != "-":
            raw.close()


def reads(stream: io.BufferedIOBase) -> Iterator[bytes]:
    """A stream's bytes, one read at a time. Each read asks the file (or the decompressor) once,
    so that one which fails (a truncated .gz) fails after every byte before it was returned."""
    return iter(partial(stream.read1, READ_BYTES), b"")


def batches(lines: Iterable[bytes], size: int = 1024) -> Iterator[list[bytes]]:
    """Lines in lists of `size`. When reading fails, the lines before the failure come first,
    then the error."""
    batch: list[bytes] = []
    try:
        for line in lines:
            batch.append(line)
            if len(batch) == size:
                yield batch
                batch = []
    except (OSError, EOFError, zlib.error):
        if batch:
            yield batch
        raise
    if batch:
        yield batch


def whole_lines(pieces: Iterable[bytes], size: int = READ_BYTES) -> Iterator[bytes]:
    """A log's bytes, given in pieces of any length (its lines, or `reads`), as chunks of whole
    lines of at least `size` bytes (but the last), each ending in a newline: one is added after a
    last line that has none, which changes nothing for JSON.

    When reading fails, the complete lines before the failure come first, then the error; a line
    that the failure cut short is left out, as reading line by line leaves it out."""
    held: list[bytes] = []
    held_bytes = 0
    try:
        for piece in pieces:
            held.append(piece)
            held_bytes += len(piece)
            if held_bytes >= size:
                data = b"".join(held)
                cut = data.rfind(b"\n") + 1
                if cut:
                    yield data[:cut]
                    data = data[cut:]
                held, held_bytes = [data], len(data)
    except (OSError, EOFError, zlib.error):
        data = b"".join(held)
        cut = data.rfind(b"\n") + 1
        if cut:
            yield data[:cut]
        raise
    data = b"".join(held)
    if data:
        yield data if data.endswith(b"\n") else data + b"\n"
