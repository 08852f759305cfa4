"""One status line on a terminal, rewritten in place a few times a second: events, rate, time."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Final, TextIO

from producers.when import iso
from streams.logfile import GZIP_MAGIC

BAR_WIDTH: Final = 24


class Progress:
    """Call `update` as often as convenient; it redraws at most every `every_s` seconds.

    The rate is over the last few seconds, not the whole run, so that a recording that caught up
    with its backlog shows the live rate. With `total` (bytes of input) it draws a bar.
    """

    def __init__(
        self,
        stream: TextIO,
        verb: str,
        *,
        total: int | None = None,
        clock: Callable[[], float] = time.monotonic,
        every_s: float = 0.25,
        window_s: float = 3.0,
    ) -> None:
        self._stream = stream
        self._verb = verb
        self._total = total
        self._clock = clock
        self._every_s = every_s
        self._window_s = window_s
        self._samples: deque[tuple[float, int]] = deque([(clock(), 0)])
        self._next = 0.0
        self._width = 0

    def update(self, events: int, event_ts: int | None, done: int | None = None) -> None:
        now = self._clock()
        if now < self._next:
            return
        self._next = now + self._every_s
        samples = self._samples
        samples.append((now, events))
        while len(samples) > 2 and now - samples[1][0] >= self._window_s:
            samples.popleft()
        then, before = samples[0]
        rate = (events - before) / (now - then) if now > then else 0.0
        text = f"{self._verb} {events:,} events, {rate:,.0f}/s"
        if event_ts is not None:
            text += f", event time {iso(event_ts)}"
        if self._total and done is not None:
            share = min(done / self._total, 0.999)
            filled = int(share * BAR_WIDTH)
            text = f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {share:4.0%} {text}"
        self._write(text)

    def clear(self) -> None:
        """Rub the line out, before a summary is printed in its place."""
        if self._width:
            self._write("")

    def _write(self, text: str) -> None:
        # Padding covers what a longer previous line left behind.
        self._stream.write("\r" + text.ljust(self._width))
        if not text:
            self._stream.write("\r")
        self._stream.flush()
        self._width = len(text)


def log_size(path: str) -> int | None:
    """Bytes of a log once decompressed, for a progress bar; None for standard input.

    A gzip file states its size modulo 4 GiB in its last four bytes: exact for one member below
    that, rough otherwise, which is good enough for a bar (it stops short of 100% if it runs over).
    """
    if path == "-":
        return None
    try:
        with Path(path).open("rb") as file:
            if file.read(2) != GZIP_MAGIC:
                return file.seek(0, 2)
            file.seek(-4, 2)
            return int.from_bytes(file.read(4), "little") or None
    except OSError:
        return None
