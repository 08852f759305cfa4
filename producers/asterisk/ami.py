"""Asterisk Manager Interface events to contract events: a pure translation.

AMI events carry no time of their own unless manager.conf has `timestampevents = yes`; the
caller passes each event's time (its Timestamp, or when it was received). Event ids come from the
caller channel's Uniqueid where the event has one (`{source}:{Uniqueid}:{Event}:{Queue}:{member}:
{what}`), else from the time and the member, so that the same events give the same ids.

A QueueStatus answer (QueueParams, QueueMember, QueueEntry, then QueueStatusComplete) is a
snapshot of the queues: taken at connect, it makes known the people already logged in or
paused and the callers already waiting, and after a reconnect it settles what changed unseen.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from producers.asterisk.config import AsteriskSource
from producers.asterisk.core import Core
from producers.asterisk.recovery import Listed, settle
from producers.asterisk.state import State
from producers.asterisk.tally import Tally
from streams.events import Event

OLD_NAMES: Final = {
    # Asterisk 11 and earlier.
    "Join": "QueueCallerJoin",
    "Leave": "QueueCallerLeave",
    "QueueMemberPaused": "QueueMemberPause",
}
QUIET: Final = frozenset(
    {
        # The device state of a member: calls come from the Agent* events.
        "QueueMemberStatus",
        "QueueMemberPenalty",
        "QueueMemberRinginuse",
        "QueueSummary",
    }
)


@dataclass
class Row:
    """A QueueMember line of a snapshot, and when it was read (events after it know better)."""

    queue: str
    interface: str
    paused: bool
    reason: str
    in_call: bool | None
    last_call_ms: int
    seq: int


@dataclass
class Snapshot:
    started: int
    """The sequence number of the event before it: events after that know better."""
    queues: set[str] = field(default_factory=set)
    members: dict[str, list[Row]] = field(default_factory=dict)
    waiting: list[tuple[str, str, int, int]] = field(default_factory=list)
    """(Uniqueid, queue, waited ms, seq) of each QueueEntry."""


Handler = Callable[["AmiTranslator", Mapping[str, str], int, str], None]


class AmiTranslator:
    """AMI events in, events out. `where` names an event in problems (its position)."""

    def __init__(self, config: AsteriskSource, state: State | None = None) -> None:
        self.core = Core(config, state)
        self.tally = Tally()
        self._snapshots: dict[str, Snapshot] = {}
        self._seq = 0
        self._where = ""
        self._touched: dict[str, int] = {}
        """Member names and Uniqueids, with the sequence number of their latest event."""
        self.unseen_abandons = 0
        """Callers a snapshot no longer lists, who left while the connection was down."""

    @property
    def state(self) -> State:
        return self.core.state

    def event(self, message: Mapping[str, str], ts: int, where: str) -> list[Event]:
        name = message.get("Event")
        if name is None:
            return []  # an action's response
        name = OLD_NAMES.get(name, name)
        tally = self.tally
        tally.records += 1
        self._seq += 1
        self.core.advance(ts)  # any event tells the time: a caller who left is gone by now
        handler = HANDLERS.get(name)
        if handler is None:
            if name in QUIET:
                tally.quiet[name] += 1
            else:
                tally.unknown_kind(name, None)
            return self.core.take()
        missing = [key for key in REQUIRED[name] if not _first(message, key)]
        if missing:
            tally.problem(where, f"{name} without {' or '.join(missing[0])}")
            return self.core.take()
        tally.translated[name] += 1
        self._where = where
        handler(self, message, ts, _record(name, message, ts))
        return self.core.take()

    def advance(self, ts: int) -> list[Event]:
        self.core.advance(ts)
        return self.core.take()

    def finish(self) -> list[Event]:
        self.core.finish()
        if self.unseen_abandons:
            self.tally.hints.append(
                f"{self.unseen_abandons} caller(s) left a queue while the connection was down: "
                "counted as abandoned, as their outcome is unknown (queue_log has it)"
            )
        return self.core.take()

    # One method per event.

    def _joined_queue(self, message: Mapping[str, str], ts: int, record: str) -> None:
        uid = self._touch(message["Uniqueid"])
        self.core.queued(ts, record, uid, message["Queue"])

    def _abandoned(self, message: Mapping[str, str], ts: int, record: str) -> None:
        uid = self._touch(message["Uniqueid"])
        waited = _seconds(message, "HoldTime")
        self.core.abandoned(ts, record, uid, message["Queue"], waited)

    def _left_queue(self, message: Mapping[str, str], ts: int, record: str) -> None:
        self.core.left(ts, record, self._touch(message["Uniqueid"]), message["Queue"])

    def _connected(self, message: Mapping[str, str], ts: int, record: str) -> None:
        uid = self._touch(message["Uniqueid"])
        name, interface = self._member(message)
        held = _seconds(message, "HoldTime")
        self.core.connected(ts, record, uid, message["Queue"], name, interface, held)

    def _completed(self, message: Mapping[str, str], ts: int, record: str) -> None:
        name, interface = self._member(message)
        # Asterisk leaves the caller's channel out when it has already gone: the member's call.
        uid = message.get("Uniqueid") or self.core.call_of(name, message["Queue"])
        if not uid:
            self.tally.problem(self._where, "AgentComplete without Uniqueid, of no known call")
            return
        self._touch(uid)
        held, talked = _seconds(message, "HoldTime"), _seconds(message, "TalkTime")
        self.core.completed(ts, record, uid, message["Queue"], name, interface, held, talked)

    def _rung(self, message: Mapping[str, str], ts: int, record: str) -> None:
        name, interface = self._member(message)
        self.core.seen(ts, record, name, message["Queue"], interface)

    def _added(self, message: Mapping[str, str], ts: int, record: str) -> None:
        name, interface = self._member(message)
        paused, reason = message.get("Paused") == "1", _reason(message)
        self.core.joined(ts, record, name, message["Queue"], interface, paused, reason)

    def _removed(self, message: Mapping[str, str], ts: int, record: str) -> None:
        name, _ = self._member(message)
        self.core.removed(ts, record, name, message["Queue"])

    def _pause(self, message: Mapping[str, str], ts: int, record: str) -> None:
        name, interface = self._member(message)
        queue = message["Queue"]
        if message.get("Paused") == "1":
            self.core.paused(ts, record, name, queue, _reason(message), interface)
        else:
            self.core.unpaused(ts, record, name, queue, interface)

    def _member(self, message: Mapping[str, str]) -> tuple[str, str]:
        """(member name, interface): the names differ across Asterisk versions and between live
        events and QueueStatus answers."""
        interface = _first(message, ("Interface", "Location", "Member"))
        name = _first(message, ("MemberName", "Name")) or interface
        return self._touch(name), interface

    def _touch(self, key: str) -> str:
        self._touched[key] = self._seq
        return key

    # A QueueStatus answer, gathered by its ActionID and settled when complete.

    def _params(self, message: Mapping[str, str], ts: int, record: str) -> None:
        self._snapshot(message).queues.add(message["Queue"])

    def _listed_member(self, message: Mapping[str, str], ts: int, record: str) -> None:
        interface = _first(message, ("Interface", "Location"))
        name = _first(message, ("Name", "MemberName")) or interface
        in_call = message.get("InCall")
        row = Row(
            queue=message["Queue"],
            interface=interface,
            paused=message.get("Paused") == "1",
            reason=_reason(message),
            in_call=None if in_call is None else in_call == "1",
            last_call_ms=_seconds(message, "LastCall"),
            seq=self._seq,
        )
        snapshot = self._snapshot(message)
        snapshot.queues.add(row.queue)
        snapshot.members.setdefault(name, []).append(row)

    def _listed_caller(self, message: Mapping[str, str], ts: int, record: str) -> None:
        entry = (message["Uniqueid"], message["Queue"], _seconds(message, "Wait"), self._seq)
        snapshot = self._snapshot(message)
        snapshot.queues.add(message["Queue"])
        snapshot.waiting.append(entry)

    def _snapshot(self, message: Mapping[str, str]) -> Snapshot:
        key = message.get("ActionID", "")
        snapshot = self._snapshots.get(key)
        if snapshot is None:
            snapshot = self._snapshots[key] = Snapshot(self._seq - 1)
        return snapshot

    def _settle(self, message: Mapping[str, str], ts: int, record: str) -> None:
        """What the snapshot shows and the events did not: people who joined, left or paused
        unseen, callers waiting unseen, and callers gone from the queue unseen (counted as
        abandoned: their outcome is unknown)."""
        snapshot = self._snapshots.pop(message.get("ActionID", ""), None)
        if snapshot is None or not snapshot.queues:
            return
        core, touched = self.core, self._touched
        for uid, queue, waited, seq in snapshot.waiting:
            if touched.get(uid, 0) <= seq:
                join = _record("QueueCallerJoin", {"Uniqueid": uid, "Queue": queue}, ts)
                core.queued(max(1, ts - waited), join, uid, queue)
        listed = {uid for uid, *_ in snapshot.waiting}
        for uid, call in list(core.state.calls.items()):
            gone = call.queue in snapshot.queues and not call.outcome and not call.left_ts
            if gone and uid not in listed and touched.get(uid, 0) <= snapshot.started:
                self.unseen_abandons += 1
                core.abandoned(ts, f"{record}:{uid}", uid, call.queue, 0)
        for name in sorted(set(snapshot.members) | set(core.state.members)):
            rows = snapshot.members.get(name, [])
            since = min((row.seq for row in rows), default=snapshot.started)
            if touched.get(name, 0) > since:
                continue  # an event after its line knows better
            settle(core, ts, f"{record}:{name}", name, snapshot.queues, _listing(rows))


def _listing(rows: list[Row]) -> dict[str, Listed]:
    return {
        row.queue: Listed(row.paused, row.reason, row.in_call, row.last_call_ms, row.interface)
        for row in rows
    }


def _record(name: str, message: Mapping[str, str], ts: int) -> str:
    """An event's identity: its caller's Uniqueid where it has one, else its time."""
    member = _first(message, ("MemberName", "Name", "Interface", "Location", "Member"))
    queue = message.get("Queue", "")
    uid = message.get("Uniqueid")
    return f"{uid}:{name}:{queue}:{member}" if uid else f"{ts}:{name}:{queue}:{member}"


def _first(message: Mapping[str, str], keys: tuple[str, ...]) -> str:
    for key in keys:
        value = message.get(key)
        if value:
            return value
    return ""


def _seconds(message: Mapping[str, str], key: str) -> int:
    text = message.get(key, "")
    return int(text) * 1000 if text.isdigit() else 0


def _reason(message: Mapping[str, str]) -> str:
    return _first(message, ("PausedReason", "Reason"))


QUEUE: Final = ("Queue",)
CALLER: Final = ("Uniqueid",)
MEMBER: Final = ("MemberName", "Name", "Interface", "Location", "Member")
HANDLERS: Final[dict[str, Handler]] = {
    "QueueCallerJoin": AmiTranslator._joined_queue,
    "QueueCallerAbandon": AmiTranslator._abandoned,
    "QueueCallerLeave": AmiTranslator._left_queue,
    "AgentConnect": AmiTranslator._connected,
    "AgentComplete": AmiTranslator._completed,
    "AgentCalled": AmiTranslator._rung,
    "AgentRingNoAnswer": AmiTranslator._rung,
    "AgentDump": AmiTranslator._rung,
    "QueueMemberAdded": AmiTranslator._added,
    "QueueMemberRemoved": AmiTranslator._removed,
    "QueueMemberPause": AmiTranslator._pause,
    "QueueParams": AmiTranslator._params,
    "QueueMember": AmiTranslator._listed_member,
    "QueueEntry": AmiTranslator._listed_caller,
    "QueueStatusComplete": AmiTranslator._settle,
}
REQUIRED: Final[dict[str, tuple[tuple[str, ...], ...]]] = {
    "QueueCallerJoin": (QUEUE, CALLER),
    "QueueCallerAbandon": (QUEUE, CALLER),
    "QueueCallerLeave": (QUEUE, CALLER),
    "AgentConnect": (QUEUE, CALLER, MEMBER),
    "AgentComplete": (QUEUE, MEMBER),
    "AgentCalled": (QUEUE, MEMBER),
    "AgentRingNoAnswer": (QUEUE, MEMBER),
    "AgentDump": (QUEUE, MEMBER),
    "QueueMemberAdded": (QUEUE, MEMBER),
    "QueueMemberRemoved": (QUEUE, MEMBER),
    "QueueMemberPause": (QUEUE, MEMBER),
    "QueueParams": (QUEUE,),
    "QueueMember": (QUEUE, MEMBER),
    "QueueEntry": (QUEUE, CALLER),
    "QueueStatusComplete": (),
}
