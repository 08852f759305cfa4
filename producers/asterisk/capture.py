"""AMI captures: what an AMI session received, saved to a file, read back as timed messages.

Two layouts are read: floorpulse's captures, with a line `# recv <epoch ms>` before each block
and `# sent ...` notes of what the session sent (shared/dialers/asterisk/floor-a/ami.txt), and
plain transcripts (actions, responses and events, one blank line after each). A message's time is
its Timestamp header (`timestampevents = yes`), else the latest `# recv`, else None.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import NamedTuple

from producers.asterisk.ami_wire import Message, parse, timestamp_ms

RECV = "# recv "


class Captured(NamedTuple):
    ts: int | None
    message: Message
    where: str
    """The line its block starts on, for problems."""


def read_capture(lines: Iterable[str]) -> Iterator[Captured]:
    """Every message of a capture, in order; banners and `#` notes are left out."""
    recv: int | None = None
    block: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if line.startswith("#"):
            stamp = line[len(RECV) :].strip() if line.startswith(RECV) else ""
            if stamp.isdigit():
                recv = int(stamp)
            continue
        if line:
            if not block:
                start = number
            block.append(line)
            continue
        if block:
            yield _captured(block, recv, start)
            block = []
    if block:
        yield _captured(block, recv, start)


def _captured(block: list[str], recv: int | None, start: int) -> Captured:
    message = parse(block)
    stamped = timestamp_ms(message)
    return Captured(recv if stamped is None else stamped, message, f"line {start}")
