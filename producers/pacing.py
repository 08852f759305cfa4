"""Event time to wall time: replay events in real time, faster, or as fast as possible.

The only part of the producers that sleeps; the clock and the sleep are passed in so that tests
can drive it without waiting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Final

MAX: Final = "max"


def parse_speed(text: str) -> float | None:
    """None for `max` (no pacing), else a positive factor: 1 is real time, 60 a minute a second."""
    if text.strip().lower() == MAX:
        return None
    try:
        speed = float(text)
    except ValueError:
        speed = math.nan
    if not (math.isfinite(speed) and speed > 0):
        raise ValueError(f"expected a positive number or `max`, got {text!r}")
    return speed


class Pacer:
    """Holds each event back until its wall time: the wall time of the start (or of the first
    event) plus its event-time offset divided by `speed`. With `speed` None it never waits.

    `on_wait` runs before each sleep (a sink's flush, so what was sent is delivered while the
    producer would otherwise idle). Sleeps shorter than `slack_s` are skipped: waking up for
    every millisecond would cost more than it paces.
    """

    __slots__ = ("_clock", "_on_wait", "_origin", "_slack_s", "_sleep", "_speed")

    def __init__(
        self,
        speed: float | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_wait: Callable[[], None] | None = None,
        slack_s: float = 0.002,
    ) -> None:
        if speed is not None and not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self._speed = speed
        self._clock = clock
        self._sleep = sleep
        self._on_wait = on_wait
        self._slack_s = slack_s
        self._origin: tuple[int, float] | None = None

    def start(self, ts: int) -> None:
        """Make event time `ts` now. Without it, the first event waited for is due at once."""
        if self._speed is not None:
            self._origin = (ts, self._clock())

    def wall_time(self, ts: int) -> float:
        """The clock reading at which the event at `ts` is due."""
        if self._speed is None:
            return -math.inf
        if self._origin is None:
            self._origin = (ts, self._clock())
        first_ts, first_wall = self._origin
        return first_wall + (ts - first_ts) / 1000 / self._speed

    def wait_until(self, ts: int) -> None:
        """Return when the event at `ts` is due."""
        if self._speed is None:
            return
        due = self.wall_time(ts)
        ahead = due - self._clock()
        if ahead < self._slack_s:
            return
        if self._on_wait is not None:
            self._on_wait()
            ahead = due - self._clock()
        if ahead > 0:
            self._sleep(ahead)
