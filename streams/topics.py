"""Topic names and message keys (events.md, "Topics and keys")."""

from __future__ import annotations

from typing import Final

from streams.events import AgentDisposition, AgentStateChanged, Event

AGENT_EVENTS: Final = "dialer.agent-events"
CALL_EVENTS: Final = "dialer.call-events"
DEAD_LETTER: Final = "dialer.dead-letter"
CHECKINS: Final = "floor.checkins"
DIALER_TOPICS: Final = (AGENT_EVENTS, CALL_EVENTS)


def route(event: Event) -> tuple[str, str]:
    """The topic an event belongs on and its message key, which keeps its entity's order."""
    if isinstance(event, AgentStateChanged | AgentDisposition):
        return AGENT_EVENTS, event.agent_id
    return CALL_EVENTS, event.campaign_id
