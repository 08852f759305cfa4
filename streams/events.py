"""The event types of contract v1 revision 1.1 (events.md): frozen, slotted, validated on decode."""

from __future__ import annotations

import enum
from typing import Annotated, Final, Literal, TypeAlias, final

import msgspec

MAX_TEXT: Final = 128
MAX_TS: Final = 2**53

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_TEXT)]
"""Identifiers and free-text codes: 1 to 128 code points."""
Millis = Annotated[int, msgspec.Meta(gt=0, lt=MAX_TS)]
"""Event time, integer milliseconds since the Unix epoch (UTC)."""
OptionalText = Text | msgspec.UnsetType


class AgentState(enum.StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    ON_CALL = "on_call"
    WRAP_UP = "wrap_up"
    PAUSED = "paused"


class AnsweredBy(enum.StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


# The event classes are final: the engine dispatches on `type(event) is ...`, which mypy narrows
# only for final classes, because isinstance against a msgspec class that does not match costs
# about 0.1 µs, a large part of applying an event.
# gc=False: events hold only strings and integers, so they can never be part of a reference cycle,
# and leaving them out of the cycle collector makes decoding a long log markedly cheaper.
class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type", gc=False):
    v: Literal[1]
    event_id: Text
    ts: Millis
    source: Text


@final
class AgentStateChanged(_Event, frozen=True, tag="agent.state"):
    """The agent entered `state` at `ts`."""

    agent_id: Text
    team_id: Text
    campaign_id: Text
    state: AgentState
    site_id: OptionalText = msgspec.UNSET
    reason: OptionalText = msgspec.UNSET
    call_id: OptionalText = msgspec.UNSET

    def __post_init__(self) -> None:
        # msgspec turns a ValueError raised here into a ValidationError, like any other rule.
        if (self.state is AgentState.PAUSED) != (self.reason is not msgspec.UNSET):
            raise ValueError("`reason` is required when state is paused and forbidden otherwise")
        if (self.state is AgentState.ON_CALL) != (self.call_id is not msgspec.UNSET):
            raise ValueError("`call_id` is required when state is on_call and forbidden otherwise")


@final
class AgentDisposition(_Event, frozen=True, tag="agent.disposition"):
    """The agent recorded the outcome of a call."""

    agent_id: Text
    team_id: Text
    campaign_id: Text
    call_id: Text
    disposition: Text


class _CallEvent(_Event, frozen=True):
    call_id: Text
    campaign_id: Text


@final
class CallDialed(_CallEvent, frozen=True, tag="call.dialed"):
    """The dialer placed the call."""


@final
class CallAnswered(_CallEvent, frozen=True, tag="call.answered"):
    """The far end answered, a person or a machine."""

    answered_by: AnsweredBy


@final
class CallUnanswered(_CallEvent, frozen=True, tag="call.unanswered"):
    """No answer, busy, failed, invalid number..."""

    outcome: Text


@final
class CallDropped(_CallEvent, frozen=True, tag="call.dropped"):
    """A person answered and the dialer released the call with no agent: an abandoned call."""


@final
class CallConnected(_CallEvent, frozen=True, tag="call.connected"):
    """The call was bridged to an agent."""

    agent_id: Text
    team_id: Text


@final
class CallEnded(_CallEvent, frozen=True, tag="call.ended"):
    """The call finished."""

    disposition: OptionalText = msgspec.UNSET


@final
class CallQueued(_CallEvent, frozen=True, tag="call.queued"):
    """A person calling in entered the campaign's queue and waits for an agent (revision 1.1)."""


@final
class CallAbandoned(_CallEvent, frozen=True, tag="call.abandoned"):
    """A queued call left the queue before reaching an agent (revision 1.1)."""


AgentEvent: TypeAlias = AgentStateChanged | AgentDisposition
CallEvent: TypeAlias = (
    CallDialed
    | CallAnswered
    | CallUnanswered
    | CallDropped
    | CallConnected
    | CallEnded
    | CallQueued
    | CallAbandoned
)
Event: TypeAlias = AgentEvent | CallEvent

AGENT_EVENT_TYPES: Final[tuple[type[AgentEvent], ...]] = (AgentStateChanged, AgentDisposition)
CALL_EVENT_TYPES: Final[tuple[type[CallEvent], ...]] = (
    CallDialed,
    CallAnswered,
    CallUnanswered,
    CallDropped,
    CallConnected,
    CallEnded,
    CallQueued,
    CallAbandoned,
)
EVENT_TYPES: Final[tuple[type[Event], ...]] = AGENT_EVENT_TYPES + CALL_EVENT_TYPES


def type_name(event_type: type[Event]) -> str:
    """The wire name (`type` field) of an event class, e.g. `call.dialed`."""
    tag = event_type.__struct_config__.tag
    assert isinstance(tag, str)
    return tag


TYPE_NAMES: Final[frozenset[str]] = frozenset(type_name(t) for t in EVENT_TYPES)
