"""The simulated floor: teams, campaigns, the people on them, and each shift's plan of pauses."""

from __future__ import annotations

import random
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NamedTuple

from streams.engine.pacing import PacingLimits
from streams.events import MAX_TS

if TYPE_CHECKING:
    from producers.dialer import CampaignDialer

SECOND: Final = 1_000
MINUTE: Final = 60 * SECOND
HOUR: Final = 60 * MINUTE
DAY: Final = 24 * HOUR

DEFAULT_START_MS: Final = 1_767_600_000_000
"""2026-01-05T08:00:00Z, a Monday morning: the start of file runs, so that they reproduce."""

SITES: Final = ("site-north", "site-south")
MAX_SOURCE: Final = 64
"""Leaves room in the 128 characters of an event or call id for the run tag and a counter."""
MAX_INBOUND_RATE: Final = 100_000
UNDERSTAFFED_FROM: Final = 2 * HOUR
"""When the understaffed queue's training session starts, after the start of each day."""
PACINGS: Final = ("predictive", "advised")
"""How the dialers pace: as predictive dialers do, or by the humane pacing advice."""


@dataclass(frozen=True, kw_only=True)
class FloorConfig:
    """What to simulate. Invalid values raise ValueError with a message that names the option."""

    agents: int = 40
    teams: int = 4
    campaigns: int = 2
    duration_ms: int = 8 * HOUR
    start_ms: int = DEFAULT_START_MS
    source: str = "sim"
    tired_teams: frozenset[int] = field(default_factory=frozenset)
    """Team numbers (1-based) whose breaks are being skipped, so that check-ins have work to do."""
    blended: frozenset[int] | None = None
    """Campaign numbers whose people answer the campaign's inbound queue between dialer calls.
    None: the last campaign, unless `inbound_only` names any; an empty set for none."""
    inbound_only: frozenset[int] = field(default_factory=frozenset)
    """Campaign numbers with no dialer: their people only answer the campaign's inbound queue."""
    inbound_rate: float | None = None
    """Callers an hour into each queue in the busiest hour of the day; None: sized to its people."""
    understaffed: int | None = None
    """A queue's campaign number: each day, most of its people are in a training session for an
    hour (UNDERSTAFFED_FROM to UNDERSTAFFED_FROM + 1 h after the start)."""
    pacing: str = "predictive"
    """One of PACINGS (producers/dialer.py describes both)."""
    pacing_limits: PacingLimits = field(default_factory=PacingLimits)
    """The limits an `advised` dialer's advice keeps."""

    def __post_init__(self) -> None:
        if self.agents < 1:
            raise ValueError(f"--agents must be at least 1, got {self.agents}")
        if not 1 <= self.teams <= self.agents:
            raise ValueError(
                f"--teams must be between 1 and --agents ({self.agents}), got {self.teams}: "
                "every team needs at least one person"
            )
        if not 1 <= self.campaigns <= self.teams:
            raise ValueError(
                f"--campaigns must be between 1 and --teams ({self.teams}), got {self.campaigns}: "
                "every campaign needs a team to work it"
            )
        if self.duration_ms <= 0:
            raise ValueError(f"--duration must be positive, got {self.duration_ms} ms")
        if not 0 < self.start_ms < self.start_ms + self.duration_ms < MAX_TS:
            raise ValueError("--start and --duration must keep event times between 1 and 2^53 ms")
        if not 1 <= len(self.source) <= MAX_SOURCE:
            raise ValueError(f"--source must have 1 to {MAX_SOURCE} characters")
        outside = sorted(n for n in self.tired_teams if not 1 <= n <= self.teams)
        if outside:
            raise ValueError(f"--tired-team {outside[0]} is not one of the {self.teams} teams")
        if self.pacing not in PACINGS:
            raise ValueError(f"--pacing must be one of {', '.join(PACINGS)}, got {self.pacing!r}")
        self._check_queues()

    def _check_queues(self) -> None:
        given = (("--blended", self.blended or frozenset()), ("--inbound-only", self.inbound_only))
        for option, numbers in given:
            outside = sorted(n for n in numbers if not 1 <= n <= self.campaigns)
            if outside:
                raise ValueError(
                    f"{option} {campaign_id(outside[0])} is not one of the "
                    f"{self.campaigns} campaigns"
                )
        both = sorted(self.inbound_only & (self.blended or frozenset()))
        if both:
            raise ValueError(
                f"{campaign_id(both[0])} is given to both --blended and --inbound-only: choose one"
            )
        queues = self.queues()
        if self.inbound_rate is not None:
            if not 0 < self.inbound_rate <= MAX_INBOUND_RATE:
                raise ValueError(
                    f"--inbound-rate must be above 0 and at most {MAX_INBOUND_RATE:,} callers an "
                    f"hour, got {self.inbound_rate:g}"
                )
            if not queues:
                raise ValueError("--inbound-rate needs a queue: give --blended or --inbound-only")
        if self.understaffed is not None:
            if self.understaffed not in queues:
                raise ValueError(
                    "--preset understaffed-queue needs an inbound queue: give --blended or "
                    "--inbound-only, or leave out --outbound-only"
                )
            if self.duration_ms <= UNDERSTAFFED_FROM:
                raise ValueError(
                    f"--preset understaffed-queue needs a --duration over "
                    f"{UNDERSTAFFED_FROM // HOUR}h: the understaffed hour starts then"
                )

    def queues(self) -> dict[int, bool]:
        """The campaigns (numbers) that have an inbound queue, each with whether it also dials."""
        blended = self.blended
        if blended is None:
            blended = frozenset() if self.inbound_only else frozenset({self.campaigns})
        modes = dict.fromkeys(sorted(blended), True)
        modes.update(dict.fromkeys(sorted(self.inbound_only), False))
        return dict(sorted(modes.items()))


def team_id(number: int) -> str:
    return f"team-{number:02d}"


def campaign_id(number: int) -> str:
    return f"campaign-{number:02d}"


class Team(NamedTuple):
    team_id: str
    campaign_id: str
    site_id: str
    tired: bool
    meeting_at: int | None
    """Offset from login of the team's daily stand-up, if it holds one."""


def build_teams(config: FloorConfig, rng: random.Random) -> list[Team]:
    """Team n works campaign ((n - 1) mod campaigns) + 1, so a campaign may span several teams."""
    return [
        Team(
            team_id=team_id(n),
            campaign_id=campaign_id((n - 1) % config.campaigns + 1),
            site_id=SITES[(n - 1) % len(SITES)],
            tired=n in config.tired_teams,
            meeting_at=rng.randint(25 * MINUTE, 50 * MINUTE) if rng.random() < 0.3 else None,
        )
        for n in range(1, config.teams + 1)
    ]


class Pause(NamedTuple):
    at: int
    """Offset from login, ms."""
    reason: str | None
    """The canonical pause code, or None for a short logout (a desktop that lost its session)."""
    length: int
    until: int | None = None
    """For a session held at a set time, not planned from login: its end (event time), which
    sets the length instead; a session that is over by the time the person is free is skipped."""


class Shift(NamedTuple):
    length: int
    pauses: list[Pause]


def plan_shift(rng: random.Random, team: Team) -> Shift:
    """One person's shift: its length and the pauses they mean to take, in order."""
    draw = rng.random()
    if draw < 0.08:
        length = rng.randint(9 * HOUR + 15 * MINUTE, 10 * HOUR)  # overtime
    elif draw < 0.18:
        length = rng.randint(3 * HOUR + 50 * MINUTE, 4 * HOUR + 10 * MINUTE)  # part-time
    else:
        length = rng.randint(7 * HOUR + 45 * MINUTE, 8 * HOUR + 15 * MINUTE)
    pauses = _tired_pauses(rng, length) if team.tired else _pauses(rng, length, team)
    pauses.sort(key=lambda pause: pause.at)
    return Shift(length, pauses)


_OCCASIONAL: Final = (
    ("training", 0.08, 30 * 60, 45 * 60),
    ("coaching", 0.10, 10 * 60, 20 * 60),
    ("technical", 0.06, 2 * 60, 10 * 60),
    ("personal", 0.04, 5 * 60, 15 * 60),
    ("bio_break", 0.03, 3 * 60, 6 * 60),  # a site-specific code: normalises to `other`
)
"""Pauses some people take some days: (reason, chance per shift, shortest and longest, s)."""


def _pauses(rng: random.Random, length: int, team: Team) -> list[Pause]:
    """A floor that looks after its people: a real break every hour or so, and lunch."""
    randint = rng.randint
    pauses = []
    at = 0
    lunch_after = 3 * HOUR + 30 * MINUTE if length > 5 * HOUR else length
    while (at := at + randint(60, 88) * MINUTE) < length - 40 * MINUTE:
        if at >= lunch_after:
            pause = Pause(at, "lunch", randint(30, 45) * MINUTE)
            lunch_after = length
        else:
            pause = Pause(at, "break", randint(6, 15) * MINUTE)
        pauses.append(pause)
        at += pause.length
    end = length - 20 * MINUTE
    for _ in range(randint(0, 2)):
        pauses.append(Pause(randint(20 * MINUTE, end), "restroom", randint(150, 420) * SECOND))
    for reason, chance, lo, hi in _OCCASIONAL:
        if rng.random() < chance:
            pauses.append(Pause(randint(30 * MINUTE, end), reason, randint(lo, hi) * SECOND))
    if rng.random() < 0.2:
        pauses.append(Pause(randint(170, 195) * MINUTE, "prayer", randint(8, 15) * MINUTE))
    if team.meeting_at is not None:
        pauses.append(Pause(team.meeting_at + randint(0, 90 * SECOND), "meeting", 15 * MINUTE))
    if rng.random() < 0.03:
        pauses.append(Pause(randint(30 * MINUTE, end), None, randint(40, 180) * SECOND))
    return pauses


def _tired_pauses(rng: random.Random, length: int) -> list[Pause]:
    """A team whose real breaks are being skipped: a late, short lunch and quick stops only.

    Every stop stays under the 300 s that would make it a recovery, and stops are at least an
    hour apart so that two of them never run together into one.
    """
    pauses = [
        Pause(
            block + rng.randint(30 * MINUTE, 90 * MINUTE), "restroom", rng.randint(90, 240) * SECOND
        )
        for block in range(0, length - 2 * HOUR, 2 * HOUR)
    ]
    if length > 5 * HOUR:
        # Lunch takes the place of the 4 h block's stop, which could otherwise run into it.
        pauses = [p for p in pauses if not 4 * HOUR <= p.at < 6 * HOUR]
        pauses.append(Pause(rng.randint(265, 285) * MINUTE, "lunch", rng.randint(18, 25) * MINUTE))
    return pauses


# Where an agent is in their day. `READY` on the wire is IDLE or RESERVED here.
OUT: Final = 0
IDLE: Final = 1
RESERVED: Final = 2
"""Ready, and a call that a person answered is being bridged to them."""
TALKING: Final = 3
WRAPPING: Final = 4
PAUSED: Final = 5
"""Off the phones: paused, or briefly logged out mid-shift."""


class Agent:
    """A person on the floor and where they are in their day."""

    __slots__ = ("agent_id", "dialer", "leaving", "pending", "phase", "plan", "rough", "team")

    def __init__(self, agent_id: str, team: Team, dialer: CampaignDialer) -> None:
        self.agent_id = agent_id
        self.team = team
        self.dialer = dialer
        self.phase = OUT
        self.rough = False
        """In a rough patch: a run of calls that mostly say no."""
        self.plan: deque[Pause] = deque()
        """This shift's pauses not yet due, in order."""
        self.pending: deque[Pause] = deque()
        """Pauses that came due during a call, taken when it is wrapped up."""
        self.leaving = False
        """The shift is over: log out at the next chance."""
