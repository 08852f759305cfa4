"""Additive totals: what agents and calls contribute to teams and campaigns."""

from __future__ import annotations

from bisect import bisect_left
from typing import Final

import msgspec

# Histogram bucket upper bounds, seconds. Metrics expose them; the report needs only sum and count.
TALK_BOUNDS_S: Final = (5, 15, 30, 60, 120, 180, 300, 600, 1200, 1800)
WAIT_BOUNDS_S: Final = (1, 5, 10, 20, 30, 60, 120, 300, 600)
BREAK_BOUNDS_S: Final = (60, 120, 300, 600, 900, 1200, 1800, 2700, 3600)
QUEUE_WAIT_BOUNDS_S: Final = (1, 5, 10, 20, 30, 60, 120, 300, 600)
"""Includes 20 s, the service level, so that it can be read off the histogram."""

WORK_STATES: Final = ("ready", "on_call", "wrap_up", "paused")
"""The states whose time is counted, in the order of `TeamShare.state_ms` lists."""
DISPOSITION_CLASSES: Final = ("positive", "negative", "neutral")
CHECKIN_KINDS: Final = ("long_stretch", "high_occupancy", "rejection_streak", "long_shift")


class Histogram(msgspec.Struct):
    """Observations in milliseconds: per-bucket counts (the last is +Inf) and their sum."""

    counts: list[int]
    sum_ms: int = 0

    @classmethod
    def empty(cls, bounds: tuple[float, ...]) -> Histogram:
        return cls([0] * (len(bounds) + 1))

    def observe(self, value_ms: int, bounds_ms: tuple[int, ...]) -> None:
        self.counts[bisect_left(bounds_ms, value_ms)] += 1
        self.sum_ms += value_ms

    @property
    def count(self) -> int:
        return sum(self.counts)

    def add(self, other: Histogram) -> None:
        self.counts = [a + b for a, b in zip(self.counts, other.counts, strict=True)]
        self.sum_ms += other.sum_ms


def bounds_ms(bounds_s: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(b * 1000 for b in bounds_s)


TALK_BOUNDS_MS: Final = bounds_ms(TALK_BOUNDS_S)
WAIT_BOUNDS_MS: Final = bounds_ms(WAIT_BOUNDS_S)
BREAK_BOUNDS_MS: Final = bounds_ms(BREAK_BOUNDS_S)
QUEUE_WAIT_BOUNDS_MS: Final = bounds_ms(QUEUE_WAIT_BOUNDS_S)


class TeamShare(msgspec.Struct):
    """What one agent contributed to one team. Summing shares over agents gives the team."""

    state_ms: dict[str, list[int]] = msgspec.field(default_factory=dict)
    """Per campaign: closed interval milliseconds in WORK_STATES order."""
    wait: dict[str, Histogram] = msgspec.field(default_factory=dict)
    """Per campaign: `ready` intervals that ended in `on_call`."""
    breaks: dict[str, Histogram] = msgspec.field(default_factory=dict)
    """Per normalised pause reason: closed pauses."""
    dispositions: list[int] = msgspec.field(default_factory=lambda: [0, 0, 0])
    checkins: list[int] = msgspec.field(default_factory=lambda: [0, 0, 0, 0])
    member: bool = False
    """Whether an `agent.state` of this agent named this team (report `agents`)."""
    seen: dict[str, int] = msgspec.field(default_factory=dict)
    """Per campaign: the latest time of this agent's events that named the team and campaign
    (how long the team, and its part of the campaign, has been quiet)."""

    def add(self, other: TeamShare) -> None:
        for campaign, seconds in other.state_ms.items():
            mine = self.state_ms.setdefault(campaign, [0, 0, 0, 0])
            for i, value in enumerate(seconds):
                mine[i] += value
        _add_histograms(self.wait, other.wait, WAIT_BOUNDS_S)
        _add_histograms(self.breaks, other.breaks, BREAK_BOUNDS_S)
        self.dispositions = [
            a + b for a, b in zip(self.dispositions, other.dispositions, strict=True)
        ]
        self.checkins = [a + b for a, b in zip(self.checkins, other.checkins, strict=True)]
        for campaign, ts in other.seen.items():
            if ts > self.seen.get(campaign, 0):
                self.seen[campaign] = ts


class DayBucket(msgspec.Struct, array_like=True):
    answered_human: int = 0
    abandoned: int = 0


PACE_MARK_MS: Final = 300_000
"""A campaign marks its pace counters at most this often (at its sweeps for quiet calls)."""
PACE_KEEP_MS: Final = 3_600_000
"""Marks cover the campaign's last hour: the pacing advice's window."""


class PaceMark(msgspec.Struct, array_like=True):
    """A campaign's cumulative pace counters as they stood at `ts`: what happened since is the
    difference with the counters now (engine/pacing.py reads it)."""

    ts: int = 0
    dialed: int = 0
    answered_human: int = 0
    abandoned: int = 0
    connected: int = 0
    inbound: int = 0
    """Of the connected calls, callers from the queue."""
    talked: int = 0
    talk_ms: int = 0
    rung_ms: int = 0
    person_ms: int = 0


class QueueTotals(msgspec.Struct):
    """A campaign's inbound calls (stats.md, "Inbound queue statistics"): the queue's, never a
    person's."""

    queued: int = 0
    answered: int = 0
    abandoned: int = 0
    """Abandoned after waiting `short_abandon_ms` or longer."""
    abandoned_short: int = 0
    answered_within_sl: int = 0
    wait: Histogram = msgspec.field(default_factory=lambda: Histogram.empty(QUEUE_WAIT_BOUNDS_S))
    """Waits of answered calls."""
    waiting: int = 0
    """Calls queued whose outcome is not decided yet."""


class CampaignTotals(msgspec.Struct):
    """Counters of one campaign (stats.md, "Campaign call statistics")."""

    dialed: int = 0
    answered_human: int = 0
    answered_machine: int = 0
    unanswered: int = 0
    unanswered_by_outcome: dict[str, int] = msgspec.field(default_factory=dict)
    dropped: int = 0
    connected: int = 0
    late_connected: int = 0
    talk: Histogram = msgspec.field(default_factory=lambda: Histogram.empty(TALK_BOUNDS_S))
    by_day: dict[int, DayBucket] = msgspec.field(default_factory=dict)
    """Keyed by UTC day number (days since the epoch)."""
    by_hour: dict[int, DayBucket] = msgspec.field(default_factory=dict)
    """Keyed by UTC hour number (hours since the epoch); the last day only."""
    teams: list[str] = msgspec.field(default_factory=list)
    """Teams named by `call.connected` events (they appear in the report)."""
    active: list[int] = msgspec.field(default_factory=lambda: [0, 0, 0])
    """Calls now dialing, waiting, talking."""
    queue: QueueTotals | None = None
    """Inbound calls (revision 1.1); None until the campaign has one."""
    rung_ms: int = 0
    """Time dialed lines spent ringing, from `call.dialed` until an answer, no answer, connect or
    drop (for the pacing advice, as are the next three)."""
    person_ms: int = 0
    """People's time from one call's connect to their next on the campaign, when they were back
    from the first within `recovery_s` (a longer gap was a break): people working, over time."""
    pace: list[PaceMark] = msgspec.field(default_factory=list)
    """Marks of the pace counters over the last PACE_KEEP_MS, oldest first."""
    pace_since: int = 0
    """The time of the campaign's first mark: where its whole history starts."""

    def pace_now(self, ts: int) -> PaceMark:
        """The pace counters as they stand, marked at `ts`."""
        talk = self.talk
        return PaceMark(
            ts,
            self.dialed,
            self.answered_human,
            self.abandoned,
            self.connected,
            0 if self.queue is None else self.queue.answered,
            talk.count,
            talk.sum_ms,
            self.rung_ms,
            self.person_ms,
        )

    @property
    def abandoned(self) -> int:
        return self.dropped + self.late_connected


def _add_histograms(
    mine: dict[str, Histogram], other: dict[str, Histogram], bounds_s: tuple[int, ...]
) -> None:
    for key, histogram in other.items():
        mine.setdefault(key, Histogram.empty(bounds_s)).add(histogram)
