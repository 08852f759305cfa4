"""Hypothesis strategies for events, derived from the event types, and for JSON values."""

from __future__ import annotations

import enum
import json
import types
import typing
from typing import Annotated, Any, Literal

import msgspec
from hypothesis import strategies as st

from streams.codec import encode
from streams.events import EVENT_TYPES, AgentState, AgentStateChanged, Event


def strategy_for(annotation: Any) -> st.SearchStrategy[Any]:
    """Values of a field annotation of streams.events, within its msgspec.Meta bounds."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        base, *extras = typing.get_args(annotation)
        (meta,) = (extra for extra in extras if isinstance(extra, msgspec.Meta))
        if base is str:
            # st.text leaves out surrogates, which no valid UTF-8 string holds.
            return st.text(min_size=meta.min_length or 0, max_size=meta.max_length)
        if base is int:
            low = meta.ge if meta.gt is None else meta.gt + 1
            high = meta.le if meta.lt is None else meta.lt - 1
            return st.integers(
                min_value=None if low is None else int(low),
                max_value=None if high is None else int(high),
            )
    if origin is Literal:
        return st.sampled_from(typing.get_args(annotation))
    if origin in (typing.Union, types.UnionType):
        return st.one_of([strategy_for(arg) for arg in typing.get_args(annotation)])
    if annotation is msgspec.UnsetType:
        return st.just(msgspec.UNSET)
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return st.sampled_from(annotation)
    # A new kind of field: teach this function about it rather than skip the field.
    raise TypeError(f"no strategy for {annotation!r}")


def _fields(event_type: type[Event]) -> dict[str, st.SearchStrategy[Any]]:
    return {f.name: strategy_for(f.type) for f in msgspec.structs.fields(event_type)}


def _agent_states() -> st.SearchStrategy[AgentStateChanged]:
    # `reason` and `call_id` depend on `state`, so build each state on its own.
    field_types = {f.name: f.type for f in msgspec.structs.fields(AgentStateChanged)}
    reason, call_id = (
        strategy_for(
            next(a for a in typing.get_args(field_types[name]) if a is not msgspec.UnsetType)
        )
        for name in ("reason", "call_id")
    )
    unset = st.just(msgspec.UNSET)
    return st.one_of(
        [
            st.builds(
                AgentStateChanged,
                **{
                    **_fields(AgentStateChanged),
                    "state": st.just(state),
                    "reason": reason if state is AgentState.PAUSED else unset,
                    "call_id": call_id if state is AgentState.ON_CALL else unset,
                },
            )
            for state in AgentState
        ]
    )


def _events_of(event_type: type[Event]) -> st.SearchStrategy[Event]:
    if event_type is AgentStateChanged:
        return _agent_states()
    return st.builds(event_type, **_fields(event_type))


EVENTS: typing.Final = st.one_of([_events_of(event_type) for event_type in EVENT_TYPES])
"""Any valid event of any type."""


def json_values(*, finite: bool = True) -> st.SearchStrategy[Any]:
    """Values json.dumps can write; with finite=False, floats include NaN and infinities."""
    scalars = (
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=not finite, allow_infinity=not finite)
        | st.text(max_size=20)
    )
    return st.recursive(
        scalars,
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=8), children, max_size=4)
        ),
        max_leaves=12,
    )


# Values on and beside the contract's edges, so that mutations land near a rule.
EDGE_VALUES: typing.Final = st.sampled_from(
    [
        0, 1, 2, -1, 1.0, 1e3, 2**53 - 1, 2**53, 2**64, True, False, None, "", "1", "x" * 128,
        "x" * 129, "\U0001f600" * 128, "\U0001f600" * 129, "paused", "on_call", "ready",
        "human", "machine", "agent.state", "call.ended", [], {}, ["x"], {"v": 1},
    ]
)  # fmt: skip

MUTABLE_KEYS: typing.Final = ("reason", "call_id", "site_id", "disposition", "extra")
"""Keys worth mutating beyond those an event has: optional, state-bound or unknown ones."""


@st.composite
def mutated_objects(draw: st.DrawFn) -> bytes:
    """A valid event's JSON with one to three fields dropped, set to null, to text or to another
    type."""
    obj = json.loads(encode(draw(EVENTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        key = draw(st.sampled_from(sorted(obj) + list(MUTABLE_KEYS)))
        change = draw(st.sampled_from(["drop", "null", "edge", "text", "any"]))
        if change == "drop":
            obj.pop(key, None)
        elif change == "null":
            obj[key] = None
        elif change == "edge":
            obj[key] = draw(EDGE_VALUES)
        elif change == "text":
            obj[key] = draw(st.text(min_size=1, max_size=3))
        else:
            obj[key] = draw(json_values())
    return json.dumps(obj, ensure_ascii=draw(st.booleans())).encode()


@st.composite
def mutated_bytes(draw: st.DrawFn) -> bytes:
    """A valid event's encoding with a few bytes deleted, inserted or replaced."""
    data = bytearray(encode(draw(EVENTS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        change = draw(st.sampled_from(["delete", "insert", "replace"]))
        if change == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=8))]
        elif change == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=4))
        elif at < len(data):
            data[at] = draw(st.integers(min_value=0, max_value=255))
    return bytes(data)
