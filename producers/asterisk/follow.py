"""A queue_log on disk, read whole or followed as Asterisk appends to it, across rotation and
truncation, from a position a checkpoint kept.

A file is known by its device and inode while it is open, and by its fingerprint (a digest of its
first line) for good: a rotated file keeps its inode under a new name, and a file truncated and
written again has a new first line. Only complete lines are read while following; reading a whole
file also takes a last line with no line end.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import BinaryIO, Final, NamedTuple

import msgspec

FIRST_LINE_MAX: Final = 4096
CHUNK: Final = 1 << 16


class Position(msgspec.Struct, frozen=True):
    """Where reading stopped: the file, and how far into it (bytes, and lines for messages)."""

    device: int
    inode: int
    fingerprint: str
    offset: int = 0
    lines: int = 0


class Read(NamedTuple):
    raw: bytes
    file_id: str
    """The file's fingerprint: with `offset`, the line's identity."""
    offset: int
    number: int


class QueueLogFile:
    """Lines of `path`, whole (`follow=False`) or as they come. Not thread-safe."""

    def __init__(self, path: Path, start: Position | None = None, *, follow: bool) -> None:
        self.path = path
        self.follow = follow
        self.notes: list[str] = []
        """What a person should know: a rotation or truncation met, lines that could not be."""
        self._file: BinaryIO | None = None
        self._position: Position | None = None
        self._pending = b""
        self._queue: list[tuple[Path, Position]] = []
        """Files still to read before `path` itself: a rotated file a checkpoint points into."""
        self._resume(start)

    @property
    def position(self) -> Position | None:
        """After the last line returned; None before any file could be read."""
        return self._position

    def read(self, max_lines: int = 2000) -> list[Read]:
        """The complete lines available now (at most about `max_lines`); [] when there are none
        yet (following) or no more (a whole file, read to its end)."""
        if self._file is None and not self._open_next():
            return []
        if self._rewritten():
            self.notes.append(f"{self.path} was truncated: reading it again from its start")
            self._close()
            self._queue.clear()
            return self.read(max_lines)
        assert self._file is not None
        out: list[Read] = []
        while len(out) < max_lines:
            chunk = self._file.read(CHUNK)
            if not chunk:
                break
            out += self._split(self._pending + chunk)
        if out:
            return out
        if self._queue or self._replaced():
            self._close()
            return self.read(max_lines)
        if not self.follow and self._pending:
            last, self._pending = self._pending, b""
            return [self._advance(last)]
        return []

    def size(self) -> int | None:
        try:
            return self.path.stat().st_size
        except OSError:
            return None

    def close(self) -> None:
        self._close()

    # Opening.

    def _resume(self, start: Position | None) -> None:
        if start is None:
            return
        if _is(self.path, start):
            self._queue.append((self.path, start))
            return
        rotated = _rotated(self.path, start)
        if rotated is not None:
            self.notes.append(f"resuming in {rotated}, the file {self.path} was rotated to")
            self._queue.append((rotated, start))
        elif _fingerprint(self.path) == start.fingerprint:
            self._queue.append((self.path, start))  # the same file, copied back
        else:
            self.notes.append(
                f"the file the checkpoint points into is gone: lines after line {start.lines:,}"
                f" of it were not read; reading {self.path} from its start"
            )

    def _open_next(self) -> bool:
        path, start = self._queue.pop(0) if self._queue else (self.path, None)
        try:
            file = path.open("rb")
        except FileNotFoundError:
            return False
        fingerprint = _digest(file.read(FIRST_LINE_MAX), whole=not self.follow)
        if fingerprint is None:  # empty, or its first line not yet whole
            file.close()
            return False
        stat = os.fstat(file.fileno())
        if start is not None and start.fingerprint == fingerprint:
            file.seek(start.offset)
            self._position = Position(
                stat.st_dev, stat.st_ino, fingerprint, start.offset, start.lines
            )
        else:
            file.seek(0)
            self._position = Position(stat.st_dev, stat.st_ino, fingerprint)
        self._file = file
        self._pending = b""
        return True

    def _close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _replaced(self) -> bool:
        """Whether `path` names another file now (this one was rotated away, and is read to its
        end first)."""
        current = _identity(self.path)
        position = self._position
        return (
            current is not None
            and position is not None
            and current[:2] != (position.device, position.inode)
        )

    def _rewritten(self) -> bool:
        """Whether the open file was truncated, and maybe written again since."""
        assert self._file is not None and self._position is not None
        fd = self._file.fileno()
        if os.fstat(fd).st_size < self._position.offset + len(self._pending):
            return True
        head = os.pread(fd, FIRST_LINE_MAX, 0)
        return _digest(head, whole=not self.follow) != self._position.fingerprint

    # Lines.

    def _split(self, data: bytes) -> list[Read]:
        out = []
        start = 0
        while True:
            end = data.find(b"\n", start)
            if end < 0:
                break
            out.append(self._advance(data[start : end + 1]))
            start = end + 1
        self._pending = data[start:]
        return out

    def _advance(self, raw: bytes) -> Read:
        position = self._position
        assert position is not None
        read = Read(raw, position.fingerprint, position.offset, position.lines + 1)
        self._position = msgspec.structs.replace(
            position, offset=position.offset + len(raw), lines=position.lines + 1
        )
        return read


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_dev, stat.st_ino, stat.st_size


def _digest(head: bytes, *, whole: bool) -> str | None:
    """The fingerprint of a file that starts with `head`: None while its first line is not
    complete, unless the file is read whole."""
    end = head.find(b"\n")
    if end < 0 and len(head) < FIRST_LINE_MAX and not (whole and head):
        return None
    first = head if end < 0 else head[: end + 1]
    return hashlib.sha256(first).hexdigest()[:12]


def _fingerprint(path: Path) -> str | None:
    try:
        with path.open("rb") as file:
            return _digest(file.read(FIRST_LINE_MAX), whole=False)
    except OSError:
        return None


def _rotated(path: Path, start: Position) -> Path | None:
    """The file beside `path` (queue_log.1, queue_log-20261204...) that is the one `start`
    points into: same inode, same first line."""
    try:
        siblings = sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))
    except OSError:
        return None
    return next((sibling for sibling in siblings if _is(sibling, start)), None)


def _is(path: Path, start: Position) -> bool:
    """Whether `path` is the file `start` points into: same inode, same first line."""
    identity = _identity(path)
    same_inode = identity is not None and identity[:2] == (start.device, start.inode)
    return same_inode and _fingerprint(path) == start.fingerprint
