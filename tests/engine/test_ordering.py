"""Duplicates, late events, events at the same millisecond, and which team a check-in counts in
(events.md, "Duplicates and lateness"; stats.md, "Wellbeing signals")."""

from __future__ import annotations

import pytest

from streams.engine import Floor, Outcome
from streams.events import AgentState, Event
from tests.engine.builders import (
    answered,
    at,
    campaign,
    connected,
    dialed,
    dispo,
    ended,
    floor_report,
    logged_out,
    on_call,
    opened_at,
    paused,
    ready,
    report,
    run,
    team,
    with_,
    wrap_up,
)

# duplicates -------------------------------------------------------------------------------------


def test_duplicate_event_is_ignored_and_counted() -> None:
    first = dispo("a1", 10, "sale", event_id="d1")
    rep = report([ready("a1", 0), first, first, first])
    assert rep["events"] == {"lines": 4, "valid": 4, "invalid": 0, "duplicate": 2, "late": 0}
    assert team(rep)["dispositions"] == {"positive": 1, "negative": 0, "neutral": 0}


def test_duplicate_with_different_content_is_ignored() -> None:
    original = ready("a1", 0, event_id="s1")
    rep = report(
        [
            original,
            on_call("a1", 100),
            with_(original, state=AgentState.WRAP_UP, ts=at(200), team_id="T2"),
            logged_out("a1", 300),
        ]
    )
    assert rep["events"]["duplicate"] == 1
    assert "T2" not in rep["teams"]
    assert team(rep)["state_seconds"] == {
        "ready": 100.0,
        "on_call": 200.0,
        "wrap_up": 0.0,
        "paused": 0.0,
    }


def test_duplicate_call_event_is_ignored() -> None:
    first = answered("c1", 0, event_id="x1")
    rep = report([dialed("c1", 0), first, with_(first, answered_by="machine"), connected("c1", 1)])
    c = campaign(rep)
    assert (c["answered_human"], c["answered_machine"], c["late_connected"]) == (1, 0, 0)
    assert rep["events"]["duplicate"] == 1


def test_offline_duplicates_are_found_across_entities() -> None:
    # events.md: a repeat of an event_id is a duplicate; the offline analyzer remembers every id.
    rep = report([dialed("c1", 0, event_id="same"), ready("a1", 0, event_id="same")])
    assert rep["events"]["duplicate"] == 1
    assert rep["teams"] == {}


def test_a_duplicate_is_never_late_and_never_moves_the_window() -> None:
    first = ready("a1", 100, event_id="r1")
    rep = report([first, on_call("a1", 200), first, with_(first, ts=at(50)), dialed("x", 300)])
    assert rep["events"]["late"] == 0
    assert rep["events"]["duplicate"] == 2
    assert rep["window"] == {"start_ts": at(100), "end_ts": at(300)}


def test_floor_reports_duplicates_per_entity() -> None:
    floor = Floor()
    state_event = ready("a1", 0)
    call_event = dialed("c1", 0)
    assert floor.apply(state_event) is Outcome.APPLIED
    assert floor.apply(state_event) is Outcome.DUPLICATE
    assert floor.apply(with_(state_event, ts=at(5))) is Outcome.DUPLICATE
    assert floor.apply(call_event) is Outcome.APPLIED
    assert floor.apply(with_(call_event, ts=at(9))) is Outcome.DUPLICATE
    assert floor.last_ts == at(0)


def test_a_persons_newest_ids_are_known_again_however_old_they_are() -> None:
    # An adapter restarted while catching up repeats its last delivery, where one person's
    # cycle can span more than the ten minutes events.md asks a live worker to remember.
    floor = Floor()
    earlier = [(ready if i % 2 else paused)("a1", i, event_id=f"e{i}") for i in range(70)]
    cycle = [
        paused("a1", 100, event_id="pause"),
        ready("a1", 105, event_id="ready"),
        on_call("a1", 900, event_id="talk"),
        wrap_up("a1", 1700, event_id="wrap"),
    ]
    for event in earlier + cycle:
        assert floor.apply(event) is not Outcome.DUPLICATE
    for event in cycle:
        assert floor.apply(event) is Outcome.DUPLICATE
    # Memory stays bounded: an id neither recent nor among the newest is forgotten.
    assert floor.apply(earlier[0]) is Outcome.LATE


# late events ------------------------------------------------------------------------------------


def test_late_agent_event_is_applied_at_the_agent_latest_ts() -> None:
    rep = report(
        [
            ready("a1", 0),
            on_call("a1", 100),
            paused("a1", 50, "lunch"),  # late: applied at 100
            ready("a1", 400),
            logged_out("a1", 500),
        ]
    )
    assert rep["events"]["late"] == 1
    assert team(rep)["state_seconds"] == {
        "ready": 200.0,
        "on_call": 0.0,
        "wrap_up": 0.0,
        "paused": 300.0,
    }
    assert team(rep)["breaks"]["by_reason"] == {"lunch": {"count": 1, "seconds": 300.0}}


def test_a_disposition_moves_the_agent_clock_too() -> None:
    floor = Floor()
    floor.apply(ready("a1", 0))
    floor.apply(dispo("a1", 500, "sale"))
    assert floor.apply(wrap_up("a1", 400)) is Outcome.LATE
    floor.apply(logged_out("a1", 600))
    floor.finalize()
    seconds = team(floor_report(floor))["state_seconds"]
    assert (seconds["ready"], seconds["wrap_up"]) == (500.0, 100.0)


def test_events_of_other_agents_are_not_late() -> None:
    rep = report([ready("a1", 100), ready("a2", 50), on_call("a2", 60), dialed("c1", 10)])
    assert rep["events"]["late"] == 0
    assert rep["window"] == {"start_ts": at(10), "end_ts": at(100)}


def test_call_lateness_is_per_call_not_per_campaign() -> None:
    rep = report(
        [
            dialed("c1", 100),
            dialed("c2", 50),  # earlier than c1's events, but another call: not late
            answered("c2", 60),
            connected("c2", 61),
            answered("c1", 90),  # late for c1: applied at 100
            connected("c1", 101.5),  # 1.5 s after the clamped answer: not late-connected
            ended("c1", 95),  # late: at 101.5, a talk of 0 s
        ]
    )
    assert rep["events"]["late"] == 2
    c = campaign(rep)
    assert (c["answered_human"], c["late_connected"]) == (2, 0)
    assert (c["talked"], c["talk_seconds"]) == (1, 0.0)


def test_late_call_event_counts_on_the_day_of_its_clamped_ts() -> None:
    rep = report([dialed("c1", 86_400.5), answered("c1", 86_399)])
    assert rep["events"]["late"] == 1
    assert list(campaign(rep)["by_day"]) == ["2026-01-06"]


def test_window_uses_clamped_ts_of_late_events() -> None:
    rep = report([ready("a1", 100), on_call("a1", 40)])
    assert rep["window"] == {"start_ts": at(100), "end_ts": at(100)}


def test_late_event_of_an_open_call_after_an_hour_of_campaign_traffic() -> None:
    rep = report(
        [
            answered("c1", 100),
            connected("c1", 101),
            dialed("c2", 2000),
            dialed("c3", 3000),
            dialed("c4", 4000),
            ended("c1", 50),  # earlier than c1's last ts (101 s): late, applied at 101 s
        ]
    )
    assert rep["events"]["late"] == 1
    c = campaign(rep)
    assert (c["talked"], c["talk_seconds"]) == (1, 0.0)


# the same millisecond ---------------------------------------------------------------------------


def test_states_at_the_same_millisecond_are_zero_length_intervals() -> None:
    rep = report(
        [
            ready("a1", 0),
            on_call("a1", 10),
            wrap_up("a1", 10),
            ready("a1", 10),
            paused("a1", 10, "personal"),
            ready("a1", 20),
            logged_out("a1", 30),
        ]
    )
    t1 = team(rep)
    assert t1["state_seconds"] == {"ready": 20.0, "on_call": 0.0, "wrap_up": 0.0, "paused": 10.0}
    assert t1["breaks"]["by_reason"] == {"personal": {"count": 1, "seconds": 10.0}}
    assert rep["events"]["late"] == 0


def test_zero_length_working_interval_splits_off_phone_periods() -> None:
    # paused 200 s, ready for 0 ms, paused 200 s: two short off periods, not one recovery
    floor = run(
        [
            ready("a1", 0),
            on_call("a1", 1),
            paused("a1", 5000),
            ready("a1", 5200),
            paused("a1", 5200),
            ready("a1", 5400),
            on_call("a1", 5401),
            dialed("x", 5500),
        ]
    )
    assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5400))]


# which team a check-in counts in ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("change_at", "expected_team"),
    [(5399.999, "T2"), (5400, "T3"), (5400.001, "T1")],
)
def test_checkin_team_is_the_team_at_the_moment(change_at: float, expected_team: str) -> None:
    states = [on_call("a1", change_at, team="T2")]
    if change_at == 5400:
        states.append(wrap_up("a1", 5400, team="T3"))  # the last in order at that millisecond
    events = [ready("a1", 0, team="T1"), on_call("a1", 1, team="T1"), *states, dialed("x", 6000)]
    floor = run(events)
    assert opened_at(floor, "long_stretch") == [("a1", expected_team, at(5400))]
    rep = report(events)
    counts = {name: t["checkins"]["long_stretch"] for name, t in rep["teams"].items()}
    assert counts == {name: int(name == expected_team) for name in counts}
    assert set(counts) == ({"T1", "T2", "T3"} if change_at == 5400 else {"T1", "T2"})


def test_rejection_streak_team_when_states_share_the_millisecond_of_the_eighth() -> None:
    events: list[Event] = [ready("a1", 0, team="T1")]
    events += [dispo("a1", 10 * i, "hung_up", team="T1") for i in range(1, 8)]
    events += [
        dispo("a1", 80, "hung_up", team="T1"),
        on_call("a1", 80, team="T2"),
        wrap_up("a1", 80, team="T3"),
        dialed("x", 200),
    ]
    floor = run(events)
    assert opened_at(floor, "rejection_streak") == [("a1", "T3", at(80))]
    rep = report(events)
    assert team(rep, "T3")["checkins"]["rejection_streak"] == 1
    assert team(rep, "T1")["checkins"]["rejection_streak"] == 0
    assert team(rep, "T1")["dispositions"]["negative"] == 8
