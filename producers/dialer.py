"""The predictive dialer of one campaign: how many lines to ring, and who takes an answered call.

A campaign with an inbound queue (producers.inbound) keeps its dialer: a blended campaign's dials
for the agents left once the queue's callers, waiting and expected, have theirs (as blending
dialers hold agents back for inbound); an inbound-only campaign's never dials.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import deque
from typing import TYPE_CHECKING, Final, NamedTuple

from producers.floor import MINUTE, SECOND

if TYPE_CHECKING:
    from producers.floor import Agent
    from producers.inbound import InboundQueue

HUMAN: Final = "human"
MACHINE: Final = "machine"
INBOUND: Final = "inbound"
"""The `ring` of a call that rang in: a caller in the campaign's queue, not a dialed line."""

ABANDON_AFTER_MS: Final = 2_000
"""A person who hears silence for longer than this after answering counts as abandoned."""
ABANDON_TARGET: Final = 0.03
"""The dialer slows down when more than this share of answered calls were abandoned."""
REVIEW_EVERY_MS: Final = 5 * MINUTE


class Ring(NamedTuple):
    """One way a dialed line can end its ringing: `code` is the answer or the unanswered outcome."""

    code: str
    weight: float
    delay: tuple[int, int]
    """Range of ms from dialing until it is known."""


RINGS: Final = (
    Ring(HUMAN, 0.24, (4 * SECOND, 18 * SECOND)),
    Ring(MACHINE, 0.14, (5 * SECOND, 22 * SECOND)),
    Ring("no_answer", 0.36, (24 * SECOND, 32 * SECOND)),
    Ring("busy", 0.10, (2 * SECOND, 6 * SECOND)),
    Ring("failed", 0.05, (500, 3 * SECOND)),
    Ring("invalid", 0.06, (300, 2 * SECOND)),
    Ring("congestion", 0.01, (1 * SECOND, 4 * SECOND)),  # a carrier code: normalises to `other`
)

RINGING: Final = 0
WAITING: Final = 1
"""A person answered and no agent was free: the line is held in silence for a moment."""
BRIDGING: Final = 2
CONNECTED: Final = 3
DONE: Final = 4
QUEUED: Final = 5
"""An inbound caller waiting in the campaign's queue."""


class Call:
    """One dialed line, from dialing to hang-up, or one inbound caller, from the queue on."""

    __slots__ = ("agent", "answered_at", "call_id", "code", "dialer", "ring", "status")

    def __init__(self, call_id: str, dialer: CampaignDialer, ring: str) -> None:
        self.call_id = call_id
        self.dialer = dialer
        self.ring = ring
        self.status = RINGING
        self.answered_at = 0
        self.agent: Agent | None = None
        self.code = ""
        """The disposition the agent recorded, once connected."""


class CampaignDialer:
    """Rings `ratio` lines per agent about to be free, adapting it to keep abandoned calls rare."""

    __slots__ = (
        "_cumulative",
        "abandoned",
        "answered",
        "campaign_id",
        "hold_ms",
        "idle",
        "queue",
        "ratio",
        "review_at",
        "ringing",
        "waiting",
        "wrapping",
    )

    def __init__(self, campaign_id: str, rng: random.Random, start_ms: int) -> None:
        self.campaign_id = campaign_id
        self.ratio = rng.uniform(1.8, 2.8)
        """Lines rung per idle agent: above 1 is what makes the dialer predictive."""
        self.hold_ms = rng.choice((1_500, 2_500, 4_000))
        """How long a person who answered is held for a free agent before the dialer drops them."""
        quality = rng.uniform(0.7, 1.3)  # how many real people the campaign's list reaches
        weights = [r.weight * quality if r.code == HUMAN else r.weight for r in RINGS]
        total = sum(weights)
        self._cumulative = [w / total for w in itertools.accumulate(weights)]
        self.idle: deque[Agent] = deque()
        """Agents waiting for a call, the longest-waiting first."""
        self.waiting: deque[Call] = deque()
        """Answered calls held for an agent, oldest first (entries no longer WAITING are stale)."""
        self.ringing = 0
        self.wrapping = 0
        """Agents in wrap-up: most are free within a minute, so the dialer rings for them too."""
        self.answered = 0
        self.abandoned = 0
        self.review_at = start_ms + REVIEW_EVERY_MS
        self.queue: InboundQueue | None = None
        """The campaign's inbound queue, if it has one: its callers come before new dials."""

    def lines_to_dial(self, now: int) -> int:
        expected_free = len(self.idle) + 0.5 * self.wrapping
        if self.queue is not None:
            expected_free -= self.queue.reserve(now)
        return max(0, int(expected_free * self.ratio + 0.5) - self.ringing)

    def ring(self, draw: float) -> Ring:
        """How a new line will end its ringing, from a uniform draw in [0, 1)."""
        return RINGS[min(bisect.bisect_right(self._cumulative, draw), len(RINGS) - 1)]

    def review(self, now: int) -> None:
        """Adapt the pacing ratio to the abandon rate of the last few minutes, as dialers do."""
        self.review_at = now + REVIEW_EVERY_MS
        if self.answered < 20:
            return
        rate = self.abandoned / self.answered
        if rate > ABANDON_TARGET:
            self.ratio = max(1.2, self.ratio * 0.85)
        elif rate < ABANDON_TARGET / 2:
            self.ratio = min(4.0, self.ratio + 0.15)
        self.answered = self.abandoned = 0
