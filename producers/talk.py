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

INBOUND_OUTCOMES: Final = (
    # (code, weight, talk range s, wrap range s): people who called in, mostly for help.
    ("resolved", 40, (120, 480), (30, 90)),
    ("information", 15, (60, 240), (15, 45)),
    ("sale", 8, (300, 720), (60, 150)),
    ("appointment", 8, (180, 420), (30, 90)),
    ("callback", 6, (60, 180), (20, 60)),
    ("transferred", 8, (60, 200), (10, 30)),
    ("complaint", 6, (240, 900), (60, 180)),
    ("escalated", 4, (180, 600), (60, 150)),
    ("hung_up", 3, (5, 40), (5, 15)),
    ("wrong_number", 2, (10, 40), (5, 15)),
)
"""A handling time of about five and a half minutes on average, talk and wrap-up together."""

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

    __slots__ = ("_calm", "_inbound", "_random", "_rough")

    def __init__(self, rng: random.Random) -> None:
        self._random = rng.random
        self._calm = _cumulative([o.calm for o in OUTCOMES])
        self._rough = _cumulative([o.rough for o in OUTCOMES])
        self._inbound = _cumulative([float(weight) for _, weight, _, _ in INBOUND_OUTCOMES])

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
        return self._timed(outcome.code, outcome.talk, outcome.wrap)

    def inbound(self) -> Conversation:
        """A call from someone who rang the queue: rough patches are the dialer's lists' alone."""
        index = min(bisect.bisect_right(self._inbound, self._random()), len(INBOUND_OUTCOMES) - 1)
        code, _, talk, wrap = INBOUND_OUTCOMES[index]
        return self._timed(code, talk, wrap)

    def _timed(self, code: str, talk: tuple[int, int], wrap: tuple[int, int]) -> Conversation:
        r = self._random
        # The mean of two uniform draws: a triangular spread, most calls near the middle.
        talk_s = talk[0] + (talk[1] - talk[0]) * (r() + r()) * 0.5
        wrap_s = wrap[0] + (wrap[1] - wrap[0]) * (r() + r()) * 0.5
        return Conversation(code, int(talk_s * SECOND), int(wrap_s * SECOND))
