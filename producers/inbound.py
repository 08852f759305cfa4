"""A campaign's inbound queue: callers arriving at random, each waiting as long as their patience.

Callers arrive as a Poisson process whose rate follows the hour of the floor's day (HOURLY_LOAD).
Each brings a patience: most would wait a minute or two, a few hang up within seconds; the queue
itself gives up on a caller after MAX_WAIT_MS (it offers voicemail). The simulator routes them:
an agent who comes free takes the longest-waiting caller before the dialer gives them a new
outbound call.
"""

from __future__ import annotations

import math
import random
from collections import deque
from typing import TYPE_CHECKING, Final

from producers.dialer import DONE, QUEUED, Call
from producers.floor import DAY, HOUR, MINUTE, SECOND

if TYPE_CHECKING:
    from producers.dialer import CampaignDialer
    from producers.floor import Agent

HOURLY_LOAD: Final = (0.6, 0.9, 1.0, 0.95, 0.65, 0.8, 0.8, 0.5)
"""Callers in each hour after the start of the floor's day, as a share of the busiest hour: the
lines open with the floor, peak mid-morning, dip over lunch, pick up again and close after eight
hours, when most shifts end (none until the next day's start)."""
PER_PERSON_BLENDED: Final = 2.0
"""Default callers an hour, in the busiest hour, per person working a blended campaign: about a
fifth of their time then (handling takes five and a half minutes on average); the dialer has the
rest. streams/cli/simulate.py's help says so."""
PER_PERSON_INBOUND_ONLY: Final = 7.0
"""Likewise for an inbound-only campaign: about two thirds of its people's time at the peak."""

SHORT_PATIENCE: Final = 0.05
"""Share of callers who hang up within a few seconds (a wrong number, a change of mind)."""
PATIENCE_MEDIAN_S: Final = 60.0
PATIENCE_SIGMA: Final = 0.8
"""The other callers' patience is log-normal: median a minute, mean about 80 s."""
RESERVE_MS: Final = 90 * SECOND
"""A blended campaign's dialer leaves agents free for the callers expected this long ahead."""
MAX_WAIT_MS: Final = 10 * MINUTE
"""The queue gives up on a caller after this long: they are offered voicemail and leave."""
PICK_UP_MS: Final = (300, 1_800)
"""Range of ms from the queue choosing an agent for a caller until they are talking."""
ENDED_WHILE_WAITING: Final = 0.15
"""Share of callers who hang up while waiting that the queue reports as `call.ended` only."""


def hourly_load(hour: int) -> float:
    """The share of the busiest hour's callers that arrive in this hour since the floor opened."""
    hour %= DAY // HOUR
    return HOURLY_LOAD[hour] if hour < len(HOURLY_LOAD) else 0.0


def default_rate(people: int, blended: bool) -> float:
    """Callers an hour in the busiest hour for a queue worked by `people`."""
    return people * (PER_PERSON_BLENDED if blended else PER_PERSON_INBOUND_ONLY)


class InboundQueue:
    """The callers waiting for a campaign's people, oldest first, and when the next one rings."""

    __slots__ = (
        "_expovariate",
        "_lognormvariate",
        "_offset",
        "_opens",
        "_per_ms",
        "_random",
        "_uniform",
        "agents",
        "dialer",
        "size",
        "waiting",
    )

    def __init__(
        self,
        dialer: CampaignDialer,
        agents: list[Agent],
        rate_per_hour: float,
        rng: random.Random,
        start_ms: int,
    ) -> None:
        self.dialer = dialer
        self.agents = agents
        """The people of the campaign's teams, who answer this queue."""
        self._per_ms = rate_per_hour / HOUR
        """Callers per ms in the busiest hour."""
        self._opens = start_ms
        self._offset = 0.0
        """The last arrival, ms after the start, exact: rounded down to the ms only on the wire."""
        self._random = rng.random
        self._expovariate = rng.expovariate
        self._lognormvariate = rng.lognormvariate
        self._uniform = rng.uniform
        self.waiting: deque[Call] = deque()
        """Callers in arrival order (entries no longer QUEUED are stale)."""
        self.size = 0
        """Callers waiting: the entries of `waiting` still QUEUED."""
        dialer.queue = self

    def next_arrival(self) -> int:
        """When the next caller rings, after the last one.

        Within an hour of the day the rate is constant, so the gap to the next caller is
        exponential; a gap that runs past the hour's end is drawn again from there, which is exact
        for a Poisson process (it has no memory).
        """
        offset = self._offset
        while True:
            hour = int(offset // HOUR)
            hour_end = float((hour + 1) * HOUR)
            rate = self._per_ms * hourly_load(hour)
            if rate > 0:
                arrival = offset + self._expovariate(rate)
                if arrival < hour_end:
                    self._offset = arrival
                    return self._opens + math.floor(arrival)
            offset = hour_end

    def reserve(self, now: int) -> float:
        """Agents the dialer should leave for this queue: its waiting callers and those expected
        in the next RESERVE_MS."""
        expected = self._per_ms * hourly_load((now - self._opens) // HOUR) * RESERVE_MS
        return self.size + expected

    def patience(self) -> int:
        """How long a new caller will wait before hanging up, ms (at most MAX_WAIT_MS)."""
        if self._random() < SHORT_PATIENCE:
            return round(self._uniform(1.0, 4.5) * SECOND)
        wait = self._lognormvariate(math.log(PATIENCE_MEDIAN_S), PATIENCE_SIGMA) * SECOND
        return min(MAX_WAIT_MS, round(wait))

    def join(self, call: Call) -> None:
        call.status = QUEUED
        self.waiting.append(call)
        self.size += 1

    def take(self) -> Call | None:
        """The longest-waiting caller, out of the queue, or None when nobody waits."""
        waiting = self.waiting
        while waiting:
            call = waiting.popleft()
            if call.status == QUEUED:
                self.size -= 1
                return call
        return None

    def leave(self, call: Call) -> None:
        """A waiting caller hung up, or the queue gave up on them."""
        call.status = DONE
        self.size -= 1
        waiting = self.waiting
        while waiting and waiting[0].status != QUEUED:
            waiting.popleft()
