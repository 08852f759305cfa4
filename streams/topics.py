"""Topic names and message keys (events.md, "Topics and keys")."""

from __future__ import annotations

from typing import Final

from streams.events import AgentDisposition, AgentStateChanged, Event

AGENT_EVENTS: Final = "dialer.agent-events"
CALL_EVENTS: Final = "dialer.call-events"
DEAD_LETTER: Final = "dialer.dead-letter"
CHECKINS: Final = "floor.checkins"
DIALER_TOPICS: Final = (AGENT_EVENTS, CALL_EVENTS)

INPUT_MAX_BYTES: Final = 2 * 1024 * 1024
"""The largest message the dialer topics take (their `max.message.bytes`)."""
DEAD_LETTER_MAX_BYTES: Final = 1024 * 1024
"""The largest message the dead-letter topic takes: a larger wrapper is sent truncated."""
CHECKIN_MAX_BYTES: Final = 64 * 1024
CHANGELOG_MAX_BYTES: Final = 16 * 1024 * 1024
"""A campaign's entry carries the calls it remembers: a busy campaign's can pass 1 MB."""


def route(event: Event) -> tuple[str, str]:
    """The topic an event belongs on and its message key, which keeps its entity's order."""
    if isinstance(event, AgentStateChanged | AgentDisposition):
        return AGENT_EVENTS, event.agent_id
    return CALL_EVENTS, event.campaign_id
