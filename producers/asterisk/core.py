"""What the two Asterisk views share: members and callers, as contract events (revision 1.1).

Asterisk tells facts per queue (a member joined, paused, took a call); a person has one state at
a time. A member is `on_call` during a call; `paused` when paused in every queue they are in (a
queue they are not paused in can still ring them), which a pause asked for during a call becomes
when the call ends; in `wrap_up` for the call's queue's wrapuptime after a call; `ready`
otherwise; and `logged_out` in no queue. Between calls a person counts in the campaign of the
first queue they joined. A caller is `call.queued` on entering a queue and has one outcome there:
connected, or abandoned (in an outbound queue, a dialer's, answered on entering and dropped).

No I/O and no clock: time comes from the records, and what happens without a record (a wrap-up
ending, a caller gone for good) happens when a later record, `advance` or `finish` passes it.
Event ids are `{source}:{record}:{what}`, the record's identity given by its view, so that the
same records give the same ids.
"""

from __future__ import annotations

import hashlib
import heapq
from typing import Final, Literal, TypedDict

import msgspec

from producers.asterisk.config import AsteriskSource
from producers.asterisk.state import Call, Member, Membership, Shown, State, Timer
from streams.events import (
    MAX_TEXT,
    AgentState,
    AgentStateChanged,
    AnsweredBy,
    CallAbandoned,
    CallAnswered,
    CallConnected,
    CallDropped,
    CallEnded,
    CallQueued,
    Event,
)

LEAVE_GRACE_MS: Final = 1000
"""An AMI caller who leaves the queue is connected when AgentConnect follows (Asterisk sends it
right after QueueCallerLeave); with none within this, the caller left unanswered."""
FINISHED_CALL_MEMORY_MS: Final = 3_600_000
"""A finished call is remembered this long: a caller who goes on to another queue is then known."""
OPEN_CALL_MEMORY_MS: Final = 43_200_000
SWEEP_EVERY_MS: Final = 600_000
WRAP, LEFT = "wrap", "left"


class _CallFields(TypedDict):
    v: Literal[1]
    event_id: str
    ts: int
    source: str
    call_id: str
    campaign_id: str


def _forgotten(call: Call, now: int) -> bool:
    finished = call.outcome in ("abandoned", "ended")
    memory = FINISHED_CALL_MEMORY_MS if finished else OPEN_CALL_MEMORY_MS
    return now - call.last_ts > memory and not call.left_ts


class Core:
    """The floor as Asterisk told it so far; each change appends its events to `out`."""

    def __init__(self, config: AsteriskSource, state: State | None = None) -> None:
        self.config = config
        self.state = state if state is not None else State()
        self.out: list[Event] = []
        self._outbound = frozenset(config.outbound_queues)

    def take(self) -> list[Event]:
        out, self.out = self.out, []
        return out

    # Time.

    def advance(self, ts: int) -> None:
        """Apply what happened by `ts` without a record of its own."""
        state = self.state
        while state.timers and state.timers[0].due <= ts:
            self._fire(heapq.heappop(state.timers))
        if ts > state.clock:
            state.clock = ts
        if ts >= state.next_sweep:
            self._sweep(ts)

    def finish(self) -> None:
        """The input has ended: wrap-ups end as configured, callers who left are gone."""
        while self.state.timers:
            self._fire(heapq.heappop(self.state.timers))

    def _fire(self, timer: Timer) -> None:
        if timer.kind == WRAP:
            member = self.state.members.get(timer.key)
            if member is not None and member.wrap_until == timer.due:
                member.wrap_until = 0
                self.show(member, timer.due, f"{member.wrap_id}:wrapped")
        else:
            call = self.state.calls.get(timer.key)
            if call is not None and call.left_ts and call.left_ts + LEAVE_GRACE_MS == timer.due:
                self.abandoned(call.left_ts, call.left_id, timer.key, call.queue, 0)

    def _sweep(self, now: int) -> None:
        self.state.next_sweep = now + SWEEP_EVERY_MS
        calls = self.state.calls
        for uid in [uid for uid, call in calls.items() if _forgotten(call, now)]:
            del calls[uid]

    # Members.

    def member(self, name: str, interface: str = "") -> Member:
        members = self.state.members
        member = members.get(name)
        if member is None:
            member = members[name] = Member(name, self.config.team(name, interface), interface)
        elif interface and interface != member.interface:
            member.interface = interface
            member.team = self.config.team(name, interface)
        return member

    def seen(self, ts: int, record: str, name: str, queue: str, interface: str = "") -> None:
        """A member seen acting in a queue (rung, for one) is in it."""
        self.place(name, queue, interface)
        self.show(self.state.members[name], ts, record)

    def place(self, name: str, queue: str, interface: str) -> Membership:
        """The member's place in the queue, made when its joining was never read (a static
        member, or one who joined before the log began)."""
        member = self.member(name, interface)
        for membership in member.queues:
            if membership.queue == queue:
                return membership
        membership = Membership(queue)
        member.queues.append(membership)
        return membership

    def joined(
        self,
        ts: int,
        record: str,
        name: str,
        queue: str,
        interface: str = "",
        paused: bool = False,
        reason: str = "",
    ) -> None:
        member = self.member(name, interface)
        membership = next((m for m in member.queues if m.queue == queue), None)
        if membership is None:
            member.queues.append(Membership(queue, paused))
        else:
            membership.paused = paused
        if paused:
            member.reason = reason or self.config.no_reason
        self.show(member, ts, record)

    def removed(self, ts: int, record: str, name: str, queue: str) -> None:
        member = self.state.members.get(name)
        if member is None:
            return
        member.queues = [m for m in member.queues if m.queue != queue]
        self.end_wrap_up_if_out(member)
        self.show(member, ts, record)

    def logged_off(self, ts: int, record: str, name: str) -> None:
        """app_agent_pool's AGENTLOGOFF: out of every queue until the next AGENTLOGIN."""
        member = self.state.members.get(name)
        if member is None or not member.queues:
            return
        member.dormant = [m.queue for m in member.queues]
        member.queues = []
        self.end_wrap_up_if_out(member)
        self.show(member, ts, record)

    def logged_on(self, ts: int, record: str, name: str) -> None:
        member = self.state.members.get(name)
        if member is None or member.queues or not member.dormant:
            return
        member.queues = [Membership(queue) for queue in member.dormant]
        member.dormant = []
        self.show(member, ts, record)

    def paused(
        self, ts: int, record: str, name: str, queue: str, reason: str, interface: str = ""
    ) -> None:
        self.place(name, queue, interface).paused = True
        member = self.state.members[name]
        member.reason = reason or self.config.no_reason
        self.show(member, ts, record)

    def unpaused(self, ts: int, record: str, name: str, queue: str, interface: str = "") -> None:
        self.place(name, queue, interface).paused = False
        self.show(self.state.members[name], ts, record)

    def end_wrap_up_if_out(self, member: Member) -> None:
        if not member.queues:
            # Out of every queue: no after-call work is waited for (a call goes on, if any).
            member.wrap_until = 0

    # Callers.

    def call_of(self, name: str, queue: str) -> str:
        """The Uniqueid of the member's call from the queue, or "" for none."""
        member = self.state.members.get(name)
        if member is None or member.call_queue != queue:
            return ""
        return member.call_uid

    def call_id(self, uid: str, queue: str) -> str:
        """The caller's Uniqueid; in a queue other than its first, `Uniqueid@queue`, so that a
        call_id names one call of one campaign (events.md)."""
        call = self.state.calls.get(uid)
        return uid if call is None or call.first_queue == queue else f"{uid}@{queue}"

    def queued(self, ts: int, record: str, uid: str, queue: str) -> Call:
        calls = self.state.calls
        call = calls.get(uid)
        if call is not None and call.queue == queue and not call.outcome:
            return call  # already known waiting here (a snapshot lists callers read before)
        if call is None:
            call = calls[uid] = Call(queue, queue, ts, ts)
        else:
            call.queue, call.queued_ts, call.outcome = queue, ts, ""
            call.connected_ts = call.left_ts = 0
        call.last_ts = max(call.last_ts, ts)
        common = self._call(ts, record, "queued", uid, queue)
        if queue in self._outbound:
            # A dialer's call enters its queue once a person has answered.
            self.out.append(CallAnswered(**common, answered_by=AnsweredBy.HUMAN))
        else:
            self.out.append(CallQueued(**common))
        return call

    def _queued_before(self, ts: int, record: str, uid: str, queue: str, waited_ms: int) -> Call:
        """The caller, queued `waited_ms` before `ts` when its entering was never read."""
        call = self.state.calls.get(uid)
        if call is not None and call.queue == queue:
            return call
        return self.queued(max(1, ts - waited_ms), f"{record}:implied", uid, queue)

    def connected(
        self,
        ts: int,
        record: str,
        uid: str,
        queue: str,
        name: str,
        interface: str = "",
        held_ms: int = 0,
    ) -> None:
        call = self._queued_before(ts, record, uid, queue, held_ms)
        call.outcome, call.connected_ts, call.left_ts = "connected", ts, 0
        call.last_ts = max(call.last_ts, ts)
        member = self.member(name, interface)
        self.place(name, queue, interface)
        call_id = self.call_id(uid, queue)
        common = self._call(ts, record, "connected", uid, queue)
        self.out.append(CallConnected(**common, agent_id=member.name, team_id=member.team))
        member.call_id, member.call_uid, member.call_queue = call_id, uid, queue
        member.wrap_until = 0
        self.show(member, ts, record)

    def completed(
        self,
        ts: int,
        record: str,
        uid: str,
        queue: str,
        name: str,
        interface: str = "",
        held_ms: int = 0,
        talked_ms: int = 0,
    ) -> None:
        """The call ended after talking (COMPLETEAGENT, COMPLETECALLER, a transfer out)."""
        call = self.state.calls.get(uid)
        if call is None or call.queue != queue or call.outcome != "connected":
            start = max(1, ts - talked_ms)
            self.connected(start, f"{record}:implied", uid, queue, name, interface, held_ms)
            call = self.state.calls[uid]
        call.outcome, call.last_ts = "ended", max(call.last_ts, ts)
        self.out.append(CallEnded(**self._call(ts, record, "ended", uid, queue)))
        member = self.member(name, interface)
        if member.call_uid == uid and member.call_queue == queue:
            member.call_id = member.call_uid = ""
            wrap_ms = self.config.wrapup_ms(queue)
            if wrap_ms > 0 and member.queues:
                member.wrap_until, member.wrap_queue, member.wrap_id = ts + wrap_ms, queue, record
                heapq.heappush(self.state.timers, Timer(ts + wrap_ms, WRAP, name))
        self.show(member, ts, record)

    def abandoned(self, ts: int, record: str, uid: str, queue: str, waited_ms: int) -> None:
        """The caller left the queue unanswered: hung up, or the queue gave up on it."""
        call = self._queued_before(ts, record, uid, queue, waited_ms)
        if call.outcome:
            return
        call.outcome, call.left_ts, call.last_ts = "abandoned", 0, max(call.last_ts, ts)
        common = self._call(ts, record, "abandoned", uid, queue)
        self.out.append(
            CallDropped(**common) if queue in self._outbound else CallAbandoned(**common)
        )

    def left(self, ts: int, record: str, uid: str, queue: str) -> None:
        """The caller left the queue: connected if a connect follows at once, else abandoned."""
        call = self.state.calls.get(uid)
        if call is None or call.queue != queue or call.outcome or call.left_ts:
            return
        call.left_ts, call.left_id = ts, record
        heapq.heappush(self.state.timers, Timer(ts + LEAVE_GRACE_MS, LEFT, uid))

    # Events.

    def _call(self, ts: int, record: str, what: str, uid: str, queue: str) -> _CallFields:
        return {
            "v": 1,
            "event_id": self.event_id(record, what),
            "ts": ts,
            "source": self.config.source,
            "call_id": self.call_id(uid, queue),
            "campaign_id": self.config.campaign(queue),
        }

    def _view(self, member: Member) -> Shown:
        campaign, team = self.config.campaign, member.team
        if member.call_id:
            return Shown("on_call", campaign(member.call_queue), team, call_id=member.call_id)
        if not member.queues:
            last = member.shown.campaign if member.shown else ""
            return Shown("logged_out", last, team)
        home = campaign(member.queues[0].queue)
        if all(m.paused for m in member.queues):
            return Shown("paused", home, team, reason=member.reason)
        if member.wrap_until:
            return Shown("wrap_up", campaign(member.wrap_queue), team)
        return Shown("ready", home, team)

    def show(self, member: Member, ts: int, record: str) -> None:
        """Emit the member's state if it changed; a person first seen logged out is not news."""
        view = self._view(member)
        shown = member.shown
        if shown is None and view.state == "logged_out":
            return
        if shown is not None and view == msgspec.structs.replace(shown, campaign=view.campaign):
            return  # the same state: leaving a queue does not begin another pause
        member.shown = view
        unset = msgspec.UNSET
        self.out.append(
            AgentStateChanged(
                v=1,
                event_id=self.event_id(record, "state"),
                ts=ts,
                source=self.config.source,
                agent_id=member.name,
                team_id=view.team,
                campaign_id=view.campaign,
                state=AgentState(view.state),
                site_id=self.config.site or unset,
                reason=view.reason if view.state == "paused" else unset,
                call_id=view.call_id or unset,
            )
        )

    def event_id(self, record: str, what: str) -> str:
        source = self.config.source
        text = f"{source}:{record}:{what}"
        if len(text) <= MAX_TEXT:
            return text
        digest = hashlib.sha256(record.encode()).hexdigest()[:40]
        return f"{source}:{digest}:{what}"
