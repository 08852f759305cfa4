"""The predictive dialer of one campaign: how many lines to ring, and who takes an answered call.

A campaign with an inbound queue (producers.inbound) keeps its dialer: a blended campaign's dials
for the agents left once the queue's callers, waiting and expected, have theirs (as blending
dialers hold agents back for inbound); an inbound-only campaign's never dials.

Two pacings: `predictive` (the default) rings about two lines per agent about to be free and
adapts that ratio to keep abandoned calls near 3%, as most dialers do; `advised` follows the
humane pacing advice (streams/engine/pacing.py) computed every few minutes from the dialer's own
last hour, ringing its advised lines per ready person and checking the advice against its own
abandoned calls.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections import deque
from typing import TYPE_CHECKING, Final, NamedTuple

from producers.floor import MINUTE, SECOND
from streams.engine.pacing import (
    MIN_DIALED,
    MIN_TALKED,
    PaceInputs,
    PacingAdvice,
    PacingLimits,
    advise,
    calibration,
)

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
ADVISED_WINDOW_MINUTES: Final = 60
"""An advised dialer reads its last hour (the live advice's window)."""
RECENT_MINUTES: Final = 5
"""People are counted over the hour and over these last minutes: the fewer of the two."""
FIRST_LEVEL: Final = 1.0
"""An advised dialer's lines per ready person until it has numbers to advise on."""


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

    __slots__ = (
        "agent",
        "answered_at",
        "call_id",
        "code",
        "connected_at",
        "dialed_at",
        "dialer",
        "ring",
        "status",
    )

    def __init__(self, call_id: str, dialer: CampaignDialer, ring: str, dialed_at: int = 0) -> None:
        self.call_id = call_id
        self.dialer = dialer
        self.ring = ring
        self.status = RINGING
        self.dialed_at = dialed_at
        self.answered_at = 0
        self.connected_at = 0
        self.agent: Agent | None = None
        self.code = ""
        """The disposition the agent recorded, once connected."""


class CampaignDialer:
    """Rings `ratio` lines per agent about to be free, adapting it to keep abandoned calls rare."""

    __slots__ = (
        "_cumulative",
        "abandoned",
        "advised",
        "answered",
        "busy",
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
        self.busy = 0
        """Agents taking a call, from the moment one is chosen for them until their wrap-up ends."""
        self.advised: AdvisedPace | None = None
        """Set for the `advised` pacing: the dialer follows the pacing advice."""

    def follow_advice(self, limits: PacingLimits) -> None:
        """Pace by the advice from now on: FIRST_LEVEL lines per ready person until the dialer
        has an hour's numbers, or enough of them to advise on."""
        self.advised = AdvisedPace(limits)
        self.ratio = FIRST_LEVEL

    def lines_to_dial(self, now: int) -> int:
        if self.advised is None:
            expected_free = len(self.idle) + 0.5 * self.wrapping
        else:
            # The advice is lines per ready person: none for people still wrapping up.
            expected_free = len(self.idle)
        if self.queue is not None:
            expected_free -= self.queue.reserve(now)
        return max(0, int(expected_free * self.ratio + 0.5) - self.ringing)

    def ring(self, draw: float) -> Ring:
        """How a new line will end its ringing, from a uniform draw in [0, 1)."""
        return RINGS[min(bisect.bisect_right(self._cumulative, draw), len(RINGS) - 1)]

    def review(self, now: int) -> None:
        """Adapt the pacing ratio to the abandon rate of the last few minutes, as dialers do, or
        take the advice of the last hour."""
        self.review_at = now + REVIEW_EVERY_MS
        if self.advised is not None:
            self.ratio = self.advised.review(self.ratio)
            return
        if self.answered < 20:
            return
        rate = self.abandoned / self.answered
        if rate > ABANDON_TARGET:
            self.ratio = max(1.2, self.ratio * 0.85)
        elif rate < ABANDON_TARGET / 2:
            self.ratio = min(4.0, self.ratio + 0.15)
        self.answered = self.abandoned = 0


class Minute:
    """One minute of an advised dialer's numbers."""

    __slots__ = (
        "abandoned",
        "connected",
        "dialed",
        "handle_ms",
        "handled",
        "human",
        "outbound",
        "rung_ms",
        "samples",
        "working",
    )

    def __init__(self) -> None:
        self.dialed = self.human = self.rung_ms = self.abandoned = 0
        self.connected = self.outbound = self.handled = self.handle_ms = 0
        self.samples = self.working = 0


class AdvisedPace:
    """An advised dialer's own last hour, minute by minute, and the advice it follows.

    The numbers are the advice's inputs (engine/pacing.py), measured where the dialer sees them:
    lines dialed and how long they rang, the people who answered, talk and wrap-up per call, and
    the people working, sampled at each of the dialer's ticks."""

    __slots__ = ("advice", "limits", "minutes")

    def __init__(self, limits: PacingLimits) -> None:
        self.limits = limits
        self.minutes: deque[tuple[int, Minute]] = deque()
        self.advice: PacingAdvice | None = None
        """The latest advice, None until the dialer has enough numbers."""

    def at(self, now: int) -> Minute:
        """The minute of `now`, begun if need be; minutes older than the window are dropped."""
        number = now // MINUTE
        minutes = self.minutes
        if minutes and minutes[-1][0] == number:
            return minutes[-1][1]
        minute = Minute()
        minutes.append((number, minute))
        while minutes[0][0] <= number - ADVISED_WINDOW_MINUTES:
            minutes.popleft()
        return minute

    def sample(self, now: int, dialer: CampaignDialer) -> None:
        minute = self.at(now)
        minute.samples += 1
        minute.working += len(dialer.idle) + dialer.busy

    def inputs(self) -> tuple[PaceInputs, Minute] | None:
        """The advice's inputs over the window, with the window's sums."""
        total = Minute()
        for _, minute in self.minutes:
            for name in Minute.__slots__:
                setattr(total, name, getattr(total, name) + getattr(minute, name))
        if total.dialed < MIN_DIALED or total.handled < MIN_TALKED or not total.samples:
            return None
        # People come and go (breaks, meetings, the end of shifts): the fewer of the hour's and
        # the last few minutes' people, so that a team that has just thinned out is paced for
        # the people it has now.
        recent = [minute for _, minute in self.minutes][-RECENT_MINUTES:]
        working = total.working / total.samples
        samples = sum(minute.samples for minute in recent)
        if samples:
            working = min(working, sum(minute.working for minute in recent) / samples)
        people = working * total.outbound / total.connected
        inputs = PaceInputs(
            people=people,
            answer_ratio=total.human / total.dialed,
            ring_seconds=total.rung_ms / total.dialed / 1000,
            handle_seconds=total.handle_ms / total.handled / 1000,
        )
        return inputs, total

    def review(self, level: float) -> float:
        """The lines per ready person to ring from now: the advice, made more careful by as
        much as the dialer abandoned more calls than the advice expected at `level`."""
        found = self.inputs()
        if found is None:
            return level
        inputs, total = found
        checked = calibration(inputs, level, total.human, total.abandoned)
        advice = advise(inputs, self.limits, checked)
        if advice is None:
            return level
        self.advice = advice
        return advice.dial_level
