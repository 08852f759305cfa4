"""What the Asterisk translation remembers of the floor: plain data, saved whole in checkpoints.

Asterisk reports changes (a member paused in one queue, a call connected), never a person's
state; the state is derived from these facts, so they must survive a restart with the offset they
belong to.
"""

from __future__ import annotations

import msgspec


class Membership(msgspec.Struct):
    """A member's place in one queue."""

    queue: str
    paused: bool = False


class Shown(msgspec.Struct, frozen=True):
    """The agent.state last emitted for a member: a new one is emitted when this changes."""

    state: str
    campaign: str
    team: str
    reason: str = ""
    call_id: str = ""


class Member(msgspec.Struct):
    """A person on the floor, known by the member name Asterisk logs."""

    name: str
    team: str
    interface: str = ""
    queues: list[Membership] = msgspec.field(default_factory=list)
    """In the order joined: the first is the campaign of the person's time between calls."""
    dormant: list[str] = msgspec.field(default_factory=list)
    """Queues left at an AGENTLOGOFF, taken up again at the next AGENTLOGIN."""
    reason: str = ""
    """The reason of the latest pause."""
    call_id: str = ""
    call_uid: str = ""
    call_queue: str = ""
    wrap_until: int = 0
    """While after-call work lasts (the queue's wrapuptime, which Asterisk never reports)."""
    wrap_queue: str = ""
    wrap_id: str = ""
    """The id of the record that ended the call, for the events its wrap-up's end gives."""
    shown: Shown | None = None


class Call(msgspec.Struct):
    """A caller, by the Uniqueid of its channel in the queue."""

    first_queue: str
    queue: str
    queued_ts: int
    last_ts: int
    outcome: str = ""
    """"" while waiting, then connected, abandoned or ended."""
    connected_ts: int = 0
    left_ts: int = 0
    """When an AMI caller left the queue with no outcome yet: an abandon unless a connect
    follows at once."""
    left_id: str = ""


class Timer(msgspec.Struct, array_like=True, order=True):
    due: int
    kind: str
    key: str


class State(msgspec.Struct):
    members: dict[str, Member] = msgspec.field(default_factory=dict)
    calls: dict[str, Call] = msgspec.field(default_factory=dict)
    timers: list[Timer] = msgspec.field(default_factory=list)
    """A heap: wrap-ups ending, callers who left the queue."""
    clock: int = 0
    """The latest time applied."""
    next_sweep: int = 0


_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(State)


def dump(state: State) -> bytes:
    return _encoder.encode(state)


def load(data: bytes) -> State:
    return _decoder.decode(data)
