"""What happens once a person is on the line: the code the agent records and how long it takes."""

from __future__ import annotations

import bisect
import itertools
import random
from typing import Final, NamedTuple

from producers.floor import SECOND


class Outcome(NamedTuple):
    code: str
    calm: float
    """Relative weight while the agent's calls go as usual."""
    rough: float
    """Relative weight during a rough patch: a list that keeps saying no."""
    talk: tuple[int, int]
    """Range of talk time, seconds."""
    wrap: tuple[int, int]
    """Range of wrap-up time, seconds."""


OUTCOMES: Final = (
    Outcome("sale", 6, 1, (240, 720), (45, 120)),
    Outcome("appointment", 4, 0.5, (180, 480), (30, 90)),
    Outcome("callback", 6, 0.5, (60, 240), (20, 60)),
    Outcome("interested", 4, 0.5, (120, 360), (20, 60)),
    Outcome("not_interested", 24, 45, (20, 90), (5, 25)),
    Outcome("hung_up", 12, 30, (3, 25), (3, 15)),
    Outcome("do_not_call", 3, 6, (15, 60), (10, 30)),
    Outcome("abusive", 1, 4, (20, 120), (15, 45)),
    Outcome("wrong_number", 10, 4, (10, 40), (5, 20)),
    Outcome("already_customer", 9, 3, (30, 120), (10, 30)),
    Outcome("language_barrier", 5, 2, (20, 90), (5, 20)),
    Outcome("no_decision", 16, 3, (60, 180), (10, 40)),
)

ROUGH_PATCH_STARTS: Final = 0.01
"""Chance per call that a run of hard calls begins; it ends with ROUGH_PATCH_ENDS per call."""
ROUGH_PATCH_ENDS: Final = 0.12


def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    return [w / total for w in itertools.accumulate(weights)]


class Conversation(NamedTuple):
    code: str
    talk_ms: int
    wrap_ms: int


class Conversations:
    """Draws each connected call's outcome, talk time and wrap-up time."""

    __slots__ = ("_calm", "_random", "_rough")

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._calm = _cumulative([o.calm for o in OUTCOMES])
        self._rough = _cumulative([o.rough for o in OUTCOMES])

    def rough_patch(self, rough: bool) -> bool:
        """Whether the next call falls in a rough patch, given whether the last one did."""
        if rough:
            return self._random() >= ROUGH_PATCH_ENDS
        return self._random() < ROUGH_PATCH_STARTS

    def next(self, rough: bool) -> Conversation:
        r = self._random
        table = self._rough if rough else self._calm
        # min() guards against the last cumulative weight rounding to just under 1.0.
        outcome = OUTCOMES[min(bisect.bisect_right(table, r()), len(OUTCOMES) - 1)]
        talk_lo, talk_hi = outcome.talk
        wrap_lo, wrap_hi = outcome.wrap
        # The mean of two uniform draws: a triangular spread, most calls near the middle.
        talk = talk_lo + (talk_hi - talk_lo) * (r() + r()) * 0.5
        wrap = wrap_lo + (wrap_hi - wrap_lo) * (r() + r()) * 0.5
        return Conversation(outcome.code, int(talk * SECOND), int(wrap * SECOND))
