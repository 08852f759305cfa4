"""VICIdial's rows to events, without a database: each step of a row as VICIdial writes it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgspec

from producers.vicidial.config import VicidialSource
from producers.vicidial.rows import AgentLogRow, CallLogRow, CloserLogRow, UserLogRow
from producers.vicidial.translate import State, Translator
from streams.events import Event

CONFIG = VicidialSource(
    source="vd", campaigns={"CAMP01": "campaign-01"}, user_groups={"TEAM_A": "team-a"}
)
T = 1_767_600_000


def cycle(row_id: int = 1, user: str = "agent-1", **columns: Any) -> AgentLogRow:
    values: dict[str, Any] = dict.fromkeys(AgentLogRow._fields)
    values.update(
        agent_log_id=row_id,
        user=user,
        campaign_id="CAMP01",
        user_group="TEAM_A",
        pause_epoch=T,
        pause_sec=0,
        wait_epoch=T,
        wait_sec=0,
    )
    values.update(columns)
    return AgentLogRow(**values)


def seen(events: list[Event]) -> list[tuple[str, int, str]]:
    """(type, seconds after T, the state or what the event says)."""
    out = []
    for event in events:
        what = getattr(event, "state", None) or getattr(event, "disposition", None)
        what = what or getattr(event, "answered_by", None) or getattr(event, "outcome", "")
        out.append((event.__struct_config__.tag, event.ts // 1000 - T, str(what)))
    return out


def test_a_cycle_row_says_each_step_once_it_is_sure_and_never_twice() -> None:
    translator = Translator(CONFIG)
    # Inserted at login: ready at once, or still choosing? Nothing yet.
    assert translator.agent_rows([cycle(sub_status="LOGIN")]) == []
    assert translator.open_cycles() == [1]
    talking = cycle(
        sub_status="LOGIN", wait_sec=4, talk_epoch=T + 4, uniqueid="1767600004.1", comments="AUTO"
    )
    first = translator.agent_rows([talking])
    assert seen(first) == [("agent.state", 0, "ready"), ("agent.state", 4, "on_call")]
    assert first[1].call_id == "1767600004.1"  # type: ignore[union-attr]
    assert first[0].team_id == "team-a" and first[0].campaign_id == "campaign-01"  # type: ignore[union-attr]
    assert first[0].event_id == "vd:agent_log:1:ready"
    assert translator.agent_rows([talking]) == []  # read again: nothing new
    done = talking._replace(talk_sec=60, dispo_epoch=T + 64, dispo_sec=5, status="NI")
    assert seen(translator.agent_rows([done])) == [
        ("agent.state", 64, "wrap_up"),
        ("agent.disposition", 69, "NI"),
    ]
    # The next row closes this one: it is read no more.
    assert seen(translator.agent_rows([cycle(2, pause_epoch=T + 69, wait_epoch=T + 69)])) == []
    assert translator.open_cycles() == [2]


def test_a_pause_shows_once_its_code_is_chosen_and_ready_when_the_wait_begins() -> None:
    translator = Translator(CONFIG)
    assert seen(translator.agent_rows([cycle(sub_status="NAMAZ")])) == [
        ("agent.state", 0, "paused")
    ]
    resumed = cycle(sub_status="NAMAZ", pause_sec=300, wait_epoch=T + 300)
    assert seen(translator.agent_rows([resumed])) == [("agent.state", 300, "ready")]


def test_a_pause_that_ended_without_a_code_has_the_configured_reason() -> None:
    events = Translator(CONFIG).agent_rows([cycle(pause_sec=90, wait_epoch=T + 90)])
    assert seen(events) == [("agent.state", 0, "paused"), ("agent.state", 90, "ready")]
    assert events[0].reason == "unspecified"  # type: ignore[union-attr]


def test_a_pause_followed_by_another_is_no_wait() -> None:
    events = Translator(CONFIG).agent_rows(
        [cycle(sub_status="BRK", pause_sec=60), cycle(2, pause_epoch=T + 60, sub_status="LUNCH")]
    )
    assert seen(events) == [("agent.state", 0, "paused"), ("agent.state", 60, "paused")]


def test_a_row_without_a_code_for_long_enough_is_a_person_ready() -> None:
    translator = Translator(CONFIG)
    assert translator.agent_rows([cycle()]) == []
    later = cycle(2, user="agent-2", pause_epoch=T + CONFIG.ready_after_s)
    assert seen(translator.agent_rows([cycle(), later])) == [("agent.state", 0, "ready")]


def test_a_logout_closes_the_persons_rows() -> None:
    translator = Translator(CONFIG)
    logout = UserLogRow(7, "agent-1", "LOGOUT", "CAMP01", T + 10, "TEAM_A")
    events = translator.user_rows([logout]) + translator.agent_rows([cycle(wait_sec=10)])
    assert sorted(seen(events), key=lambda e: e[1]) == [
        ("agent.state", 0, "ready"),
        ("agent.state", 10, "logged_out"),
    ]
    assert translator.state.user_log_id == 7


def call(status: str, user: str = "VDAD", end: int | None = 30, **columns: Any) -> CallLogRow:
    return CallLogRow(
        columns.get("uniqueid", "1767600000.1"),
        "CAMP01",
        T,
        None if end is None else T + end,
        status,
        user,
        "TEAM_A" if user != "VDAD" else None,
    )


def test_the_dialers_calls_go_when_they_end() -> None:
    translator = Translator(CONFIG)
    assert translator.call_rows([call("SENT", end=None)], {}) == []
    assert translator.state.calls_open == ["1767600000.1"]
    assert seen(translator.call_rows([call("NA")], {"1767600000.1": T - 20})) == [
        ("call.dialed", -20, ""),
        ("call.unanswered", 30, "no_answer"),
        ("call.ended", 30, ""),
    ]
    assert translator.state.calls_open == []
    assert translator.call_rows([call("NA")], {}) == []  # read again in the window


def test_a_drop_is_a_human_answer_then_a_drop() -> None:
    events = Translator(CONFIG).call_rows([call("DROP", end=6)], {})
    assert seen(events) == [
        ("call.dialed", 0, ""),
        ("call.answered", 0, "human"),
        ("call.dropped", 6, ""),
        ("call.ended", 6, ""),
    ]


def test_a_machine_is_a_machine() -> None:
    events = Translator(CONFIG).call_rows([call("AA", end=3)], {})
    assert seen(events)[1] == ("call.answered", 0, "machine")


def test_a_call_a_person_took_is_connected_when_their_row_says() -> None:
    translator = Translator(CONFIG)
    translator.agent_rows([cycle(wait_sec=2, talk_epoch=T + 2, uniqueid="1767600000.1")])
    events = translator.call_rows([call("SALE", user="agent-1", end=90)], {})
    assert seen(events) == [
        ("call.dialed", 0, ""),
        ("call.answered", 0, "human"),
        ("call.connected", 2, ""),
        ("call.ended", 90, ""),
    ]
    assert events[2].agent_id == "agent-1" and events[2].team_id == "team-a"  # type: ignore[union-attr]
    assert translator.state.talks == {}


def queue_call(**columns: Any) -> CloserLogRow:
    values: dict[str, Any] = {
        "closecallid": 5,
        "campaign_id": "SUPPORT",
        "start_epoch": T,
        "end_epoch": None,
        "status": "QUEUE",
        "user": "VDCL",
        "user_group": None,
        "queue_seconds": None,
        "uniqueid": "1767600000.9",
    }
    values.update(columns)
    return CloserLogRow(**values)


def test_an_in_group_caller_is_queued_connected_and_ended() -> None:
    translator = Translator(CONFIG)
    assert seen(translator.closer_rows([queue_call()])) == [("call.queued", 0, "")]
    taken = queue_call(user="agent-1", user_group="TEAM_A", queue_seconds=Decimal("12.34"))
    connected = translator.closer_rows([taken])
    assert [e.ts - T * 1000 for e in connected] == [12_340]
    assert translator.open_queue_calls() == [5]
    ended = translator.closer_rows([taken._replace(end_epoch=T + 200, status="SALE")])
    assert seen(ended) == [("call.ended", 200, "")]
    assert translator.open_queue_calls() == []


def test_an_in_group_caller_who_left_abandoned() -> None:
    events = Translator(CONFIG).closer_rows([queue_call(end_epoch=T + 40, status="DROP")])
    assert seen(events) == [("call.queued", 0, ""), ("call.abandoned", 40, "")]


def test_what_a_checkpoint_keeps_goes_on_as_if_never_stopped() -> None:
    translator = Translator(CONFIG)
    translator.agent_rows([cycle(sub_status="BRK")])
    kept = msgspec.json.decode(msgspec.json.encode(translator.state), type=State)
    again = Translator(CONFIG, kept)
    resumed = cycle(sub_status="BRK", pause_sec=60, wait_epoch=T + 60)
    assert seen(again.agent_rows([resumed])) == [("agent.state", 60, "ready")]
