"""Reading a log in chunks or batches keeps what a line-by-line read keeps, also when the read
fails part way (a truncated .gz)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pytest

from streams.logfile import batches, whole_lines


def failing(pieces: Iterable[bytes]) -> Iterator[bytes]:
    yield from pieces
    raise EOFError("Compressed file ended before the end-of-stream marker was reached")


def test_chunks_are_whole_lines_and_a_last_line_gets_its_newline() -> None:
    pieces = [b'{"a":1}\n{"b"', b":2}\n\n", b"  \n", b'{"c":3}']
    chunks = list(whole_lines(pieces, size=4))
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert b"".join(chunks) == b"".join(pieces) + b"\n"


def test_chunks_before_a_failure_come_first_without_the_line_it_cut() -> None:
    read: list[bytes] = []
    with pytest.raises(EOFError):
        for chunk in whole_lines(failing([b"one\ntwo\nth", b"ree\nfo"]), size=1 << 16):
            read.append(chunk)
    assert read == [b"one\ntwo\nthree\n"]


def test_batches_before_a_failure_come_first() -> None:
    read: list[list[bytes]] = []
    with pytest.raises(EOFError):
        for batch in batches(failing([b"1\n", b"2\n", b"3\n"]), size=2):
            read.append(batch)
    assert read == [[b"1\n", b"2\n"], [b"3\n"]]
