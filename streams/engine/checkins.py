"""Check-in records: care suggestions for a team lead, opened and closed by event time."""

from __future__ import annotations

from typing import Final

import msgspec

MESSAGES: Final = {
    "long_stretch": (
        "An hour and a half of calls without a real break. A good moment to offer one."
    ),
    "high_occupancy": (
        "Back-to-back calls for over an hour with little breathing room. "
        "A lighter next hour, or a short pause, may help."
    ),
    "rejection_streak": ("Several hard calls in a row. A kind word or a short reset may help."),
    "long_shift": "A long shift today. Worth checking in on how they are doing.",
}


class Checkin(msgspec.Struct, frozen=True):
    """One opening (closed_ts None) or closing of a check-in, as published on floor.checkins."""

    agent_id: str
    team_id: str
    kind: str
    opened_ts: int
    closed_ts: int | None = None
    message: str = ""


class OpenCheckin(msgspec.Struct, array_like=True):
    """A check-in that is open now: when it opened and for which team."""

    opened_ts: int
    team: str


class Pending(msgspec.Struct, array_like=True):
    """Something decided at `moment` whose standing waits on how an off-phone period ends.

    `what` is a check-in kind, or a disposition class for the rejection streak.
    """

    what: str
    moment: int
    team: str


def opening(agent_id: str, kind: str, moment: int, team: str) -> Checkin:
    return Checkin(agent_id, team, kind, moment, None, MESSAGES[kind])


def closing(agent_id: str, kind: str, opened: OpenCheckin, closed_ts: int) -> Checkin:
    return Checkin(agent_id, opened.team, kind, opened.opened_ts, closed_ts, MESSAGES[kind])
