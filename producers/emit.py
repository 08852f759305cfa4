"""Contract events for what happens on the simulated floor: one method per event type."""

from __future__ import annotations

import itertools
from typing import Any, Final

import msgspec

from producers.dialer import Call
from producers.floor import Agent
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
    CallEvent,
    CallQueued,
    CallUnanswered,
    Event,
)

UNSET: Final = msgspec.UNSET
_DIGITS: Final = "0123456789abcdefghijklmnopqrstuvwxyz"


def run_tag(start_ms: int) -> str:
    """The start time in base 36: ids of runs that start at different times never collide."""
    tag = ""
    while start_ms:
        start_ms, digit = divmod(start_ms, 36)
        tag = _DIGITS[digit] + tag
    return tag or "0"


class Emitter:
    """Appends events to `out`; ids are `{source}-{tag}-{n}`, for calls `{source}-{tag}-call{n}`."""

    __slots__ = ("_call_ids", "_event_ids", "_source", "out")

    def __init__(self, source: str, tag: str) -> None:
        self._source = source
        prefix = f"{source}-{tag}-".replace("{", "{{").replace("}", "}}")
        self._event_ids = map((prefix + "{}").format, itertools.count(1))
        self._call_ids = map((prefix + "call{}").format, itertools.count(1))
        self.out: list[Event] = []

    def call_id(self) -> str:
        return next(self._call_ids)

    def state(
        self,
        t: int,
        agent: Agent,
        state: AgentState,
        reason: str | msgspec.UnsetType = UNSET,
        call_id: str | msgspec.UnsetType = UNSET,
    ) -> None:
        team = agent.team
        self.out.append(
            AgentStateChanged(
                v=1,
                event_id=next(self._event_ids),
                ts=t,
                source=self._source,
                agent_id=agent.agent_id,
                team_id=team.team_id,
                campaign_id=team.campaign_id,
                site_id=team.site_id,
                state=state,
                reason=reason,
                call_id=call_id,
            )
        )

    def disposition(self, t: int, agent: Agent, call: Call) -> None:
        team = agent.team
        self.out.append(
            AgentDisposition(
                v=1,
                event_id=next(self._event_ids),
                ts=t,
                source=self._source,
                agent_id=agent.agent_id,
                team_id=team.team_id,
                campaign_id=team.campaign_id,
                call_id=call.call_id,
                disposition=call.code,
            )
        )

    def dialed(self, t: int, call: Call) -> None:
        self._call(CallDialed, t, call)

    def answered(self, t: int, call: Call, by: AnsweredBy) -> None:
        self._call(CallAnswered, t, call, answered_by=by)

    def unanswered(self, t: int, call: Call, outcome: str) -> None:
        self._call(CallUnanswered, t, call, outcome=outcome)

    def dropped(self, t: int, call: Call) -> None:
        self._call(CallDropped, t, call)

    def connected(self, t: int, call: Call, agent: Agent) -> None:
        self._call(CallConnected, t, call, agent_id=agent.agent_id, team_id=agent.team.team_id)

    def ended(self, t: int, call: Call, disposition: str | msgspec.UnsetType = UNSET) -> None:
        self._call(CallEnded, t, call, disposition=disposition)

    def queued(self, t: int, call: Call) -> None:
        self._call(CallQueued, t, call)

    def abandoned(self, t: int, call: Call) -> None:
        self._call(CallAbandoned, t, call)

    def _call(self, kind: type[CallEvent], t: int, call: Call, **fields: Any) -> None:
        self.out.append(
            kind(
                v=1,
                event_id=next(self._event_ids),
                ts=t,
                source=self._source,
                call_id=call.call_id,
                campaign_id=call.dialer.campaign_id,
                **fields,
            )
        )
