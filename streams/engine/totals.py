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


class DayBucket(msgspec.Struct, array_like=True):
    answered_human: int = 0
    abandoned: int = 0


PACE_SLOT_MS: Final = 300_000
"""Pace slots are five minutes of a campaign's event time (slot number = ts // PACE_SLOT_MS)."""
PACE_KEEP_SLOTS: Final = 12
"""A live campaign keeps its last hour of slots (the pacing advice's window)."""


class PaceSlot(msgspec.Struct, array_like=True):
    """Five minutes of a campaign's calls, as the pacing advice reads them (engine/pacing.py).
    Each count is in the slot of the event that decided it."""

    dialed: int = 0
    answered_human: int = 0
    """Outbound calls a person answered (implied answers included)."""
    abandoned: int = 0
    rung: int = 0
    """Dialed lines whose ringing ended: answered, unanswered, or met by a connect or drop."""
    rung_ms: int = 0
    """Their time ringing (from `call.dialed` to that outcome)."""
    connected: int = 0
    """Calls bridged to a person, inbound and outbound."""
    outbound: int = 0
    """Of which the dialer's."""
    talked: int = 0
    talk_ms: int = 0
    person_ms: int = 0
    """People's time from one call's connect to their next on the campaign, when they were back
    from the first within `recovery_s` (a longer gap was a break): the people working, over
    time."""

    def add(self, other: PaceSlot) -> None:
        for name in self.__struct_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


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
    pace: dict[int, PaceSlot] = msgspec.field(default_factory=dict)
    """The last PACE_KEEP_SLOTS pace slots, by slot number."""
    pace_earlier: PaceSlot = msgspec.field(default_factory=PaceSlot)
    """Every older slot, summed: with `pace`, the campaign's whole history."""
    pace_first: int = -1
    """The number of the campaign's first pace slot; -1 before its first call."""

    @property
    def abandoned(self) -> int:
        return self.dropped + self.late_connected


def _add_histograms(
    mine: dict[str, Histogram], other: dict[str, Histogram], bounds_s: tuple[int, ...]
) -> None:
    for key, histogram in other.items():
        mine.setdefault(key, Histogram.empty(bounds_s)).add(histogram)
