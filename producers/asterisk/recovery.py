"""What the two views do when the floor may have changed unseen: app_queue started again
(QUEUESTART), or the AMI connection was down (a QueueStatus snapshot settles it)."""

from __future__ import annotations

from typing import NamedTuple

from producers.asterisk.core import Core


class Listed(NamedTuple):
    """A member's line in a snapshot, for one queue."""

    paused: bool
    reason: str
    in_call: bool | None
    last_call_ms: int
    interface: str


def restarted(core: Core, ts: int, record: str) -> None:
    """app_queue started again (QUEUESTART): every call it had is gone. Members stay, as
    Asterisk's persistentmembers (on by default) keeps them."""
    talking = {(m.call_uid, m.call_queue): m for m in core.state.members.values() if m.call_id}
    for uid, call in list(core.state.calls.items()):
        where = f"{record}:{uid}"
        if not call.outcome:
            core.abandoned(ts, where, uid, call.queue, 0)
        member = talking.get((uid, call.queue))
        if call.outcome == "connected" and member is not None:
            talked = ts - call.connected_ts
            core.completed(ts, where, uid, call.queue, member.name, talked_ms=talked)


def settle(
    core: Core, ts: int, record: str, name: str, queues: set[str], listed: dict[str, Listed]
) -> None:
    """What a snapshot of `queues` (AMI's QueueStatus) lists of one member, by queue: a
    place that is not listed is left, one that is listed is taken with its pause, and a
    call that the member is no longer in ended (when LastCall says, if it can)."""
    member = core.state.members.get(name)
    if member is None and not listed:
        return
    member = core.member(name, next((row.interface for row in listed.values()), ""))
    member.queues = [m for m in member.queues if m.queue not in queues or m.queue in listed]
    for queue, row in listed.items():
        membership = core.place(name, queue, "")
        if row.paused:
            kept = member.reason if membership.paused else core.config.no_reason
            member.reason = row.reason or kept
        membership.paused = row.paused
    in_call = [row.in_call for row in listed.values() if row.in_call is not None]
    call = core.state.calls.get(member.call_uid) if member.call_id else None
    if call is not None and in_call and not any(in_call):
        last = max(row.last_call_ms for row in listed.values())
        end = last if call.connected_ts <= last <= ts else ts
        talked = end - call.connected_ts
        core.completed(end, f"{record}:ended", member.call_uid, call.queue, name, "", 0, talked)
    core.end_wrap_up_if_out(member)
    core.show(member, ts, record)
