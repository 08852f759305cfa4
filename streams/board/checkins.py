"""The check-ins of floor.checkins as a book: open ones per team, closed ones kept a few minutes.

Pure: it takes decoded records and times in milliseconds; `reader.py` feeds it from Kafka.
Repeats (a restarted worker sends a check-in again) are dropped by each record's `id`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

FADE_MS: Final = 5 * 60_000
"""How long a closed check-in stays on a team's page, fading, after it closed."""


@dataclass(frozen=True)
class Checkin:
    agent_id: str
    team_id: str
    kind: str
    opened_ts: int
    closed_ts: int | None
    message: str

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.agent_id, self.kind, self.opened_ts)


def decode(value: bytes) -> Checkin | None:
    """A record of floor.checkins, or None when it is not one (the board skips it)."""
    try:
        record: Any = json.loads(value)
        closed = record.get("closed_ts")
        return Checkin(
            agent_id=str(record["agent_id"]),
            team_id=str(record["team_id"]),
            kind=str(record["kind"]),
            opened_ts=int(record["opened_ts"]),
            closed_ts=None if closed is None else int(closed),
            message=str(record.get("message", "")),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def record_id(value: bytes) -> str | None:
    try:
        found = json.loads(value).get("id")
    except (ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None


@dataclass
class Book:
    """Every check-in seen, by its opening; a closing replaces its opening."""

    seen_ids: set[str] = field(default_factory=set)
    by_key: dict[tuple[str, str, int], Checkin] = field(default_factory=dict)

    def add(self, value: bytes) -> Checkin | None:
        """Apply one record; the check-in it brought, or None for a repeat or a bad record."""
        rid = record_id(value)
        if rid is not None:
            if rid in self.seen_ids:
                return None
            self.seen_ids.add(rid)
        checkin = decode(value)
        if checkin is None:
            return None
        known = self.by_key.get(checkin.key)
        if known is not None and known.closed_ts is not None and checkin.closed_ts is None:
            return None  # an opening repeated after its closing stays closed
        self.by_key[checkin.key] = checkin
        return checkin

    def teams(self) -> list[str]:
        return sorted({c.team_id for c in self.by_key.values()})

    def open(self, team: str | None = None) -> list[Checkin]:
        """Open check-ins, oldest first."""
        found = [
            c
            for c in self.by_key.values()
            if c.closed_ts is None and (team is None or c.team_id == team)
        ]
        return sorted(found, key=lambda c: (c.opened_ts, c.kind, c.agent_id))

    def recently_closed(self, team: str, now_ms: int) -> list[Checkin]:
        """Closed check-ins of `team` that closed within FADE_MS of `now_ms`, latest first."""
        found = [
            c
            for c in self.by_key.values()
            if c.team_id == team and c.closed_ts is not None and now_ms - c.closed_ts < FADE_MS
        ]
        return sorted(found, key=lambda c: -(c.closed_ts or 0))

    def open_count(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for c in self.open():
            counts[c.team_id] = counts.get(c.team_id, 0) + 1
        return counts
