"""AMI events to events, and the QueueStatus snapshot that settles what a connection missed."""

from __future__ import annotations

from typing import Any

import msgspec

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.ami_wire import action, parse, timestamp_ms
from producers.asterisk.capture import read_capture
from producers.asterisk.config import AsteriskSource
from streams.codec import decode, encode

T = 1_796_399_600_000
CONFIG = AsteriskSource(wrapup_s={"sales": 8})


class Floor:
    """A translator fed AMI events at times relative to T (ms)."""

    def __init__(self, config: AsteriskSource = CONFIG) -> None:
        self.translator = AmiTranslator(config)
        self.events: list[dict[str, Any]] = []

    def __call__(self, at_ms: int, name: str, **headers: str) -> Floor:
        message = {"Event": name, "Privilege": "agent,all", **headers}
        self._keep(self.translator.event(message, T + at_ms, f"event at {at_ms}"))
        return self

    def end(self) -> list[dict[str, Any]]:
        self._keep(self.translator.finish())
        return self.events

    def _keep(self, events: list[Any]) -> None:
        for event in events:
            assert decode(encode(event)) == event
            self.events.append(msgspec.to_builtins(event))


def member(name: str = "ali", queue: str = "sales", **more: str) -> dict[str, str]:
    return {"Queue": queue, "MemberName": name, "Interface": f"PJSIP/{name}", **more}


def caller(uid: str = "c1", queue: str = "sales", **more: str) -> dict[str, str]:
    return {"Queue": queue, "Uniqueid": uid, "Linkedid": uid + "0", **more}


def kinds(events: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    """(time, type, what): a state (a paused one's reason), or a call's id."""
    return [
        (e["ts"] - T, e["type"], e.get("reason") or e.get("state") or e["call_id"]) for e in events
    ]


def both(*parts: dict[str, str]) -> dict[str, str]:
    return {key: value for part in parts for key, value in part.items()}


def test_a_queue_call_from_join_to_wrap_up() -> None:
    events = (
        Floor()(0, "QueueMemberAdded", **member(Paused="0"))(
            1000, "QueueCallerJoin", **caller(Position="1")
        )(1500, "AgentCalled", **both(caller(), member()))(4200, "QueueCallerLeave", **caller())(
            4200, "AgentConnect", **both(caller(HoldTime="3", RingTime="3"), member())
        )(30000, "AgentComplete", **both(caller(HoldTime="3", TalkTime="26"), member()))
    ).end()
    assert kinds(events) == [
        (0, "agent.state", "ready"),
        (1000, "call.queued", "c1"),
        (4200, "call.connected", "c1"),
        (4200, "agent.state", "on_call"),
        (30000, "call.ended", "c1"),
        (30000, "agent.state", "wrap_up"),
        (38000, "agent.state", "ready"),
    ]
    assert events[2]["event_id"] == "asterisk:c1:AgentConnect:sales:ali:connected"


def test_a_caller_who_leaves_with_no_agent_is_abandoned() -> None:
    events = (
        Floor()(0, "QueueCallerJoin", **caller())(30000, "QueueCallerLeave", **caller())(
            30100, "VarSet", Variable="x"
        )(31500, "VarSet", Variable="y")
    ).end()
    assert kinds(events) == [(0, "call.queued", "c1"), (30000, "call.abandoned", "c1")]


def test_an_abandon_is_said_once() -> None:
    events = (
        Floor()(0, "QueueCallerJoin", **caller())(
            9000, "QueueCallerAbandon", **caller(Position="1", OriginalPosition="1", HoldTime="9")
        )(9000, "QueueCallerLeave", **caller())
    ).end()
    assert [e["type"] for e in events] == ["call.queued", "call.abandoned"]


def test_agent_complete_without_its_caller_ends_the_members_call() -> None:
    """Asterisk leaves the caller's channel out of AgentComplete when it has already gone."""
    floor = Floor()(0, "AgentConnect", **both(caller(HoldTime="2"), member()))
    events = floor(20000, "AgentComplete", **member(HoldTime="2", TalkTime="20")).end()
    assert [e["type"] for e in events if e["type"].startswith("call.")] == [
        "call.queued",
        "call.connected",
        "call.ended",
    ]
    lost = Floor()(0, "AgentComplete", **member(TalkTime="20"))
    assert lost.translator.tally.problems == 1
    assert lost.translator.tally.named == [
        "event at 0: AgentComplete without Uniqueid, of no known call"
    ]


def test_events_without_what_they_need_are_named() -> None:
    floor = Floor()(5, "QueueCallerJoin", Queue="sales")(6, "QueueMemberPause", Paused="1")
    assert floor.translator.tally.named == [
        "event at 5: QueueCallerJoin without Uniqueid",
        "event at 6: QueueMemberPause without Queue",
    ]
    assert floor.end() == []


def test_asterisk_11_names_are_read_too() -> None:
    old = {"Queue": "q", "Location": "Local/id-12@agentcallback", "MemberName": "Agent/999"}
    floor = Floor()(0, "Join", Queue="q", Uniqueid="c1", Position="1")
    events = floor(1000, "QueueMemberPaused", **old, Paused="1", Reason="BRK").end()
    assert kinds(events) == [(0, "call.queued", "c1"), (1000, "agent.state", "BRK")]
    assert events[1]["agent_id"] == "Agent/999"


def snapshot(floor: Floor, at_ms: int, action_id: str, *rows: dict[str, str]) -> Floor:
    floor(at_ms, "QueueParams", Queue="sales", ActionID=action_id)
    for row in rows:
        floor(at_ms, row.pop("Event"), **row, ActionID=action_id)
    return floor(at_ms, "QueueStatusComplete", ActionID=action_id)


def listed(name: str, **more: str) -> dict[str, str]:
    return {"Event": "QueueMember", "Queue": "sales", "Name": name, "Location": f"PJSIP/{name}",
            "Paused": "0", "PausedReason": "", "InCall": "0", "LastCall": "0", **more}  # fmt: skip


def test_a_snapshot_at_connect_makes_known_who_is_there_and_who_waits() -> None:
    floor = snapshot(
        Floor(),
        60000,
        "s1",
        listed("ali"),
        listed("bea", Paused="1", PausedReason="LUNCH"),
        {"Event": "QueueEntry", "Queue": "sales", "Uniqueid": "c7", "Wait": "12"},
    )
    assert kinds(floor.end()) == [
        (48000, "call.queued", "c7"),
        (60000, "agent.state", "ready"),
        (60000, "agent.state", "LUNCH"),
    ]


def test_a_snapshot_that_agrees_changes_nothing() -> None:
    floor = Floor()(0, "QueueMemberAdded", **member())(1000, "QueueCallerJoin", **caller())
    floor(2000, "QueueMemberPause", **member(Paused="1", PausedReason="BREAK"))
    before = len(floor.events)
    entry = {"Event": "QueueEntry", "Queue": "sales", "Uniqueid": "c1", "Wait": "2"}
    snapshot(floor, 3000, "s2", listed("ali", Paused="1", PausedReason="BREAK"), entry)
    assert len(floor.events) == before


def test_a_snapshot_settles_what_happened_unseen() -> None:
    floor = Floor()(0, "QueueMemberAdded", **member())(0, "QueueMemberAdded", **member("bea"))
    floor(1000, "QueueCallerJoin", **caller("c1"))(
        2000, "AgentConnect", **both(caller("c2"), member())
    )
    before = len(floor.events)
    # The connection drops; meanwhile ali's call ends, bea logs off, c1 hangs up, cem logs in.
    snapshot(floor, 90000, "s3", listed("ali", LastCall=str((T + 50000) // 1000)), listed("cem"))
    assert kinds(floor.events[before:]) == [
        (90000, "call.abandoned", "c1"),
        (50000, "call.ended", "c2"),
        (50000, "agent.state", "wrap_up"),
        (90000, "agent.state", "logged_out"),
        (90000, "agent.state", "ready"),
    ]
    assert [e["agent_id"] for e in floor.events[-2:]] == ["bea", "cem"]
    assert kinds(floor.end()[-1:]) == [(58000, "agent.state", "ready")]  # ali's wrap-up ends
    assert floor.translator.tally.hints == [
        "1 caller(s) left a queue while the connection was down: counted as abandoned, as "
        "their outcome is unknown (queue_log has it)"
    ]


def test_an_event_during_a_snapshot_knows_better_than_its_line() -> None:
    floor = Floor()(0, "QueueMemberAdded", **member())
    floor(1000, "QueueParams", Queue="sales", ActionID="s4")
    floor(1000, "QueueMember", **listed("ali"), ActionID="s4")
    floor(1001, "QueueMemberPause", **member(Paused="1", PausedReason="BREAK"))
    floor(1002, "QueueStatusComplete", ActionID="s4")
    assert kinds(floor.end())[-1] == (1001, "agent.state", "BREAK")


def test_the_wire_format() -> None:
    assert parse(["Event: X", "Value: a: b", "Asterisk Call Manager/11.0.0"]) == {
        "Event": "X",
        "Value": "a: b",
    }
    assert action("Login", "l1", Username="u", Secret="s") == (
        b"Action: Login\r\nActionID: l1\r\nUsername: u\r\nSecret: s\r\n\r\n"
    )
    assert timestamp_ms({"Timestamp": "1796399646.645123"}) == 1796399646645
    assert timestamp_ms({"Timestamp": "soon"}) is None


def test_an_action_never_carries_a_line_end_nor_tells_the_value() -> None:
    try:
        action("Login", "l1", Secret="hunter2\r\nAction: Originate")
    except ValueError as exc:
        assert str(exc) == "Secret contains a line end"
    else:
        raise AssertionError("accepted")


def test_a_capture_gives_each_message_its_time() -> None:
    text = (
        "# recv 1796399643216\r\nAsterisk Call Manager/11.0.0\r\n"
        "# sent 1796399643216 Action=Login ActionID=l\r\n# recv 1796399643217\r\n"
        "Response: Success\r\nActionID: l\r\n\r\n"
        "# recv 1796399643300\r\nEvent: A\r\n\r\n"
        "Event: B\r\nTimestamp: 1796399650.5\r\n\r\n"
    )
    captured = list(read_capture(text.splitlines(keepends=True)))
    assert [(c.ts, c.message.get("Event"), c.where) for c in captured] == [
        (1796399643217, None, "line 2"),
        (1796399643300, "A", "line 9"),
        (1796399650500, "B", "line 11"),
    ]
