"""Concise event builders and small helpers for the engine tests.

Times are given in seconds after BASE (2026-01-05T00:00:00Z) and may carry milliseconds
(`299.999`); `at(seconds)` is the event `ts` in milliseconds. Every builder hands out a fresh
`event_id` unless one is given.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from streams.analyze import analyze
from streams.codec import encode
from streams.engine import Checkin, EventCounts, Floor, Params, build_report
from streams.events import (
    AgentDisposition,
    AgentState,
    AgentStateChanged,
    AnsweredBy,
    CallAbandoned,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallQueued,
    CallUnanswered,
    Event,
)

BASE = 1_767_571_200_000
"""2026-01-05T00:00:00Z in milliseconds."""
DAY = 86_400.0
SOURCE = "test"

_ids = itertools.count(1)

UNSET = msgspec.UNSET


def at(seconds: float) -> int:
    """The `ts` (ms) of a moment given in seconds after BASE."""
    return BASE + round(seconds * 1000)


def _eid(event_id: str | None) -> str:
    return event_id if event_id is not None else f"ev-{next(_ids)}"


def _common(t: float, event_id: str | None) -> dict[str, Any]:
    return {"v": 1, "event_id": _eid(event_id), "ts": at(t), "source": SOURCE}


# agent events -----------------------------------------------------------------------------------


def state(
    agent: str,
    t: float,
    new: str,
    *,
    team: str = "T1",
    campaign: str = "C1",
    reason: str | None = None,
    call: str | None = None,
    event_id: str | None = None,
) -> AgentStateChanged:
    """`agent` entered `new` at `t`. A pause defaults to reason `break`, a call to a call id."""
    if new == "paused" and reason is None:
        reason = "break"
    if new == "on_call" and call is None:
        call = f"{agent}-call"
    return AgentStateChanged(
        **_common(t, event_id),
        agent_id=agent,
        team_id=team,
        campaign_id=campaign,
        state=AgentState(new),
        reason=UNSET if reason is None else reason,
        call_id=UNSET if call is None else call,
    )


def ready(agent: str, t: float, **kw: Any) -> AgentStateChanged:
    return state(agent, t, "ready", **kw)


def on_call(agent: str, t: float, **kw: Any) -> AgentStateChanged:
    return state(agent, t, "on_call", **kw)


def wrap_up(agent: str, t: float, **kw: Any) -> AgentStateChanged:
    return state(agent, t, "wrap_up", **kw)


def paused(agent: str, t: float, reason: str = "break", **kw: Any) -> AgentStateChanged:
    return state(agent, t, "paused", reason=reason, **kw)


def logged_out(agent: str, t: float, **kw: Any) -> AgentStateChanged:
    return state(agent, t, "logged_out", **kw)


def dispo(
    agent: str,
    t: float,
    disposition: str,
    *,
    team: str = "T1",
    campaign: str = "C1",
    call: str = "c0",
    event_id: str | None = None,
) -> AgentDisposition:
    return AgentDisposition(
        **_common(t, event_id),
        agent_id=agent,
        team_id=team,
        campaign_id=campaign,
        call_id=call,
        disposition=disposition,
    )


# call events ------------------------------------------------------------------------------------


def dialed(call: str, t: float, campaign: str = "C1", event_id: str | None = None) -> CallDialed:
    return CallDialed(**_common(t, event_id), call_id=call, campaign_id=campaign)


def answered(
    call: str, t: float, by: str = "human", campaign: str = "C1", event_id: str | None = None
) -> CallAnswered:
    return CallAnswered(
        **_common(t, event_id), call_id=call, campaign_id=campaign, answered_by=AnsweredBy(by)
    )


def unanswered(
    call: str,
    t: float,
    outcome: str = "no_answer",
    campaign: str = "C1",
    event_id: str | None = None,
) -> CallUnanswered:
    return CallUnanswered(
        **_common(t, event_id), call_id=call, campaign_id=campaign, outcome=outcome
    )


def dropped(call: str, t: float, campaign: str = "C1", event_id: str | None = None) -> CallDropped:
    return CallDropped(**_common(t, event_id), call_id=call, campaign_id=campaign)


def connected(
    call: str,
    t: float,
    campaign: str = "C1",
    *,
    agent: str = "a1",
    team: str = "T1",
    event_id: str | None = None,
) -> CallConnected:
    return CallConnected(
        **_common(t, event_id), call_id=call, campaign_id=campaign, agent_id=agent, team_id=team
    )


def ended(
    call: str,
    t: float,
    campaign: str = "C1",
    disposition: str | None = None,
    event_id: str | None = None,
) -> CallEnded:
    return CallEnded(
        **_common(t, event_id),
        call_id=call,
        campaign_id=campaign,
        disposition=UNSET if disposition is None else disposition,
    )


def queued(call: str, t: float, campaign: str = "C1", event_id: str | None = None) -> CallQueued:
    return CallQueued(**_common(t, event_id), call_id=call, campaign_id=campaign)


def abandoned(
    call: str, t: float, campaign: str = "C1", event_id: str | None = None
) -> CallAbandoned:
    return CallAbandoned(**_common(t, event_id), call_id=call, campaign_id=campaign)


def with_(event: Event, **changes: Any) -> Event:
    """A copy of `event` with some fields replaced (e.g. the same event_id, other content)."""
    return msgspec.structs.replace(event, **changes)


# folding ----------------------------------------------------------------------------------------


def fold(events: Iterable[Any], params: Params | None = None) -> Floor:
    """Apply the events to a fresh floor, without finalizing."""
    floor = Floor() if params is None else Floor(params)
    for event in events:
        floor.apply(event)
    return floor


def run(events: Iterable[Any], end: float | None = None, params: Params | None = None) -> Floor:
    """Apply the events and finalize, at `end` seconds when given (else at the window end)."""
    floor = fold(events, params)
    floor.finalize(None if end is None else at(end))
    return floor


def lines(events: Iterable[Any]) -> list[bytes]:
    return [encode(event) + b"\n" for event in events]


def report(events: Iterable[Any], params: Params | None = None) -> dict[str, Any]:
    """The offline report (streams.analyze) of the events written as a log."""
    if params is None:
        return analyze(lines(events))
    return analyze(lines(events), params)


def floor_report(floor: Floor) -> dict[str, Any]:
    return build_report(floor, EventCounts())


def team(rep: Mapping[str, Any], name: str = "T1") -> dict[str, Any]:
    teams = rep["teams"]
    assert name in teams, f"team {name!r} missing from the report (teams: {sorted(teams)})"
    result: dict[str, Any] = teams[name]
    return result


def campaign(rep: Mapping[str, Any], name: str = "C1") -> dict[str, Any]:
    campaigns = rep["campaigns"]
    assert name in campaigns, f"campaign {name!r} missing (campaigns: {sorted(campaigns)})"
    result: dict[str, Any] = campaigns[name]
    return result


def openings(floor: Floor, kind: str | None = None) -> list[Checkin]:
    return [c for c in floor.effects if c.closed_ts is None and (kind is None or c.kind == kind)]


def closings(floor: Floor, kind: str | None = None) -> list[Checkin]:
    return [
        c for c in floor.effects if c.closed_ts is not None and (kind is None or c.kind == kind)
    ]


def opened_at(floor: Floor, kind: str) -> list[tuple[str, str, int]]:
    """(agent, team, opened_ts) of every opening of `kind`, in order."""
    return [(c.agent_id, c.team_id, c.opened_ts) for c in openings(floor, kind)]


def closed_at(floor: Floor, kind: str) -> list[tuple[str, int, int | None]]:
    """(agent, opened_ts, closed_ts) of every closing of `kind`, in order."""
    return [(c.agent_id, c.opened_ts, c.closed_ts) for c in closings(floor, kind)]


def effect_key(checkin: Checkin) -> tuple[str, str, str, int, int]:
    closed = -1 if checkin.closed_ts is None else checkin.closed_ts
    return (checkin.agent_id, checkin.kind, checkin.team_id, checkin.opened_ts, closed)


# comparison -------------------------------------------------------------------------------------


def first_difference(actual: Any, expected: Any, path: str = "$", rel: float = 1e-9) -> str | None:
    """Where two JSON values first differ (numbers within a relative `rel`, key order ignored),
    as `path: detail`; None when they agree."""
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping):
            return f"{path}: expected an object, got {actual!r}"
        missing = sorted(set(expected) - set(actual))
        if missing:
            return f"{path}: missing keys {missing}"
        extra = sorted(set(actual) - set(expected))
        if extra:
            return f"{path}: unexpected keys {extra}"
        for key in sorted(expected):
            found = first_difference(actual[key], expected[key], f"{path}.{key}", rel)
            if found is not None:
                return found
        return None
    if isinstance(expected, Sequence) and not isinstance(expected, str):
        if not isinstance(actual, Sequence) or isinstance(actual, str):
            return f"{path}: expected a list, got {actual!r}"
        if len(actual) != len(expected):
            return f"{path}: length {len(actual)} != expected {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            found = first_difference(a, e, f"{path}[{i}]", rel)
            if found is not None:
                return found
        return None
    if _is_number(expected) and _is_number(actual):
        if math.isclose(actual, expected, rel_tol=rel, abs_tol=0.0):
            return None
        return f"{path}: {actual!r} != expected {expected!r}"
    if type(actual) is not type(expected) or actual != expected:
        return f"{path}: {actual!r} != expected {expected!r}"
    return None


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def assert_same_report(actual: Any, expected: Any) -> None:
    difference = first_difference(actual, expected)
    assert difference is None, difference
