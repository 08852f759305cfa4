"""Agent timeline: intervals, team state time, occupancy and breaks (stats.md, "Agent timeline")."""

from __future__ import annotations

import pytest

from streams.events import Event
from tests.engine.builders import (
    at,
    dialed,
    dispo,
    floor_report,
    logged_out,
    on_call,
    paused,
    ready,
    report,
    run,
    state,
    team,
    wrap_up,
)

DAY_S = 86_400


def test_state_seconds_sum_each_interval_by_state() -> None:
    rep = report(
        [
            ready("a1", 0),
            on_call("a1", 60),
            wrap_up("a1", 180),
            ready("a1", 200),
            paused("a1", 260.25, "lunch"),
            ready("a1", 560.75),
            logged_out("a1", 600),
            # a second agent of the same team adds to the same totals
            ready("a2", 10),
            on_call("a2", 20.001),
            logged_out("a2", 30),
        ]
    )
    t1 = team(rep)
    assert t1["agents"] == 2
    assert t1["state_seconds"] == {
        "ready": pytest.approx(60 + 60.25 + 39.25 + 10.001),
        "on_call": pytest.approx(120 + 9.999),
        "wrap_up": pytest.approx(20.0),
        "paused": pytest.approx(300.5),
    }
    busy = 120 + 9.999 + 20
    assert t1["occupancy_ratio"] == pytest.approx(busy / (busy + 60 + 60.25 + 39.25 + 10.001))


def test_logged_out_time_is_never_counted() -> None:
    rep = report([logged_out("a1", 0), ready("a1", 100), logged_out("a1", 150), dialed("x", 9000)])
    assert team(rep)["state_seconds"] == {
        "ready": 50.0,
        "on_call": 0.0,
        "wrap_up": 0.0,
        "paused": 0.0,
    }


def test_interval_open_at_window_end_is_closed_at_the_window_end() -> None:
    # The window end is the largest ts of all events, here a call event of another entity.
    rep = report([ready("a1", 0), on_call("a1", 100), dialed("x", 1000.5)])
    assert rep["window"] == {"start_ts": at(0), "end_ts": at(1000.5)}
    seconds = team(rep)["state_seconds"]
    assert seconds["ready"] == 100.0
    assert seconds["on_call"] == 900.5


def test_finalize_at_an_explicit_end_closes_there() -> None:
    floor = run([ready("a1", 0), wrap_up("a1", 10)], end=70)
    seconds = team(floor_report(floor))["state_seconds"]
    assert (seconds["ready"], seconds["wrap_up"]) == (10.0, 60.0)


def test_interval_belongs_to_the_team_of_the_event_that_opened_it() -> None:
    rep = report(
        [
            ready("a1", 0, team="T1"),
            on_call("a1", 100, team="T2"),  # closes T1's ready, opens a T2 call
            wrap_up("a1", 250, team="T3"),
            paused("a1", 300, team="T1", reason="break"),
            ready("a1", 330, team="T2"),
            logged_out("a1", 400, team="T1"),
        ]
    )
    t1, t2, t3 = team(rep, "T1"), team(rep, "T2"), team(rep, "T3")
    assert t1["state_seconds"] == {"ready": 100.0, "on_call": 0.0, "wrap_up": 0.0, "paused": 30.0}
    assert t2["state_seconds"] == {"ready": 70.0, "on_call": 150.0, "wrap_up": 0.0, "paused": 0.0}
    assert t3["state_seconds"] == {"ready": 0.0, "on_call": 0.0, "wrap_up": 50.0, "paused": 0.0}
    assert t1["breaks"]["by_reason"] == {"break": {"count": 1, "seconds": 30.0}}
    assert t2["breaks"]["count"] == 0
    assert t1["occupancy_ratio"] == 0.0
    assert t2["occupancy_ratio"] == pytest.approx(150 / 220)
    assert t3["occupancy_ratio"] == 1.0
    assert [t1["agents"], t2["agents"], t3["agents"]] == [1, 1, 1]


def test_agent_moving_team_between_sessions() -> None:
    rep = report(
        [
            ready("a1", 0, team="T1"),
            on_call("a1", 600, team="T1"),
            logged_out("a1", 3600, team="T1"),
            # next day: another team
            ready("a1", DAY_S, team="T2"),
            on_call("a1", DAY_S + 100, team="T2"),
            wrap_up("a1", DAY_S + 400, team="T2"),
            logged_out("a1", DAY_S + 500, team="T2"),
            ready("a2", DAY_S, team="T2"),
            logged_out("a2", DAY_S + 50, team="T2"),
        ]
    )
    t1, t2 = team(rep, "T1"), team(rep, "T2")
    assert t1["agents"] == 1
    assert t2["agents"] == 2
    assert t1["state_seconds"] == {"ready": 600.0, "on_call": 3000.0, "wrap_up": 0.0, "paused": 0.0}
    assert t2["state_seconds"] == {
        "ready": 150.0,
        "on_call": 300.0,
        "wrap_up": 100.0,
        "paused": 0.0,
    }
    assert t1["occupancy_ratio"] == pytest.approx(3000 / 3600)
    assert t2["occupancy_ratio"] == pytest.approx(400 / 550)


def test_a_logout_naming_a_team_makes_the_agent_count_there() -> None:
    # `agents`: distinct agent_ids with at least one applied agent.state naming the team.
    rep = report([ready("a1", 0, team="T1"), logged_out("a1", 10, team="T2")])
    assert team(rep, "T1")["agents"] == 1
    assert team(rep, "T2")["agents"] == 1
    assert team(rep, "T2")["state_seconds"]["ready"] == 0.0


def test_dispositions_alone_do_not_make_an_agent_count() -> None:
    rep = report([dispo("a1", 0, "sale", team="T9"), ready("a2", 0, team="T1")])
    assert team(rep, "T9")["agents"] == 0
    assert team(rep, "T9")["dispositions"] == {"positive": 1, "negative": 0, "neutral": 0}


def test_occupancy_is_null_without_working_time() -> None:
    rep = report([paused("a1", 0), logged_out("a1", 100)])
    t1 = team(rep)
    assert t1["occupancy_ratio"] is None
    assert t1["state_seconds"]["paused"] == 100.0


def test_occupancy_excludes_pauses() -> None:
    rep = report(
        [
            ready("a1", 0),
            on_call("a1", 100),
            paused("a1", 400),
            ready("a1", 10_000),
            logged_out("a1", 10_100),
        ]
    )
    assert team(rep)["occupancy_ratio"] == pytest.approx(300 / 500)


# breaks -----------------------------------------------------------------------------------------


def test_breaks_by_normalised_reason() -> None:
    rep = report(
        [
            ready("a1", 0),
            paused("a1", 100, "Prayer"),
            ready("a1", 220),
            paused("a1", 1000, " LUNCH "),
            ready("a1", 2800.5),
            paused("a1", 3000, "smoke"),
            ready("a1", 3061),
            paused("a1", 4000, "Rest Room"),  # canonical `rest_room` is not `restroom`
            ready("a1", 4010),
            paused("a1", 5000, "TECHNICAL"),
            logged_out("a1", 5002.5),
        ]
    )
    breaks = team(rep)["breaks"]
    assert breaks["by_reason"] == {
        "prayer": {"count": 1, "seconds": 120.0},
        "lunch": {"count": 1, "seconds": 1800.5},
        "other": {"count": 2, "seconds": 71.0},
        "technical": {"count": 1, "seconds": 2.5},
    }
    assert breaks["count"] == 5
    assert breaks["seconds"] == pytest.approx(120 + 1800.5 + 71 + 2.5)
    assert team(rep)["state_seconds"]["paused"] == pytest.approx(breaks["seconds"])


def test_pause_code_switch_mid_break_is_two_breaks() -> None:
    rep = report(
        [
            ready("a1", 0),
            paused("a1", 100, "break"),
            paused("a1", 250, "Lunch"),  # paused -> paused with a new reason
            ready("a1", 2050),
        ]
    )
    breaks = team(rep)["breaks"]
    assert breaks["count"] == 2
    assert breaks["seconds"] == 1950.0
    assert breaks["by_reason"] == {
        "break": {"count": 1, "seconds": 150.0},
        "lunch": {"count": 1, "seconds": 1800.0},
    }


def test_pause_to_pause_with_the_same_reason_is_also_two_breaks() -> None:
    # "An agent.state event at ts closes the agent's current interval at ts and opens a new one"
    # and "Every paused interval is one break".
    rep = report([paused("a1", 0, "break"), paused("a1", 60, "Break"), ready("a1", 100)])
    assert team(rep)["breaks"]["by_reason"] == {"break": {"count": 2, "seconds": 100.0}}


def test_pause_open_at_window_end_counts_up_to_the_window_end() -> None:
    rep = report([ready("a1", 0), paused("a1", 100, "coaching"), dialed("x", 400.5)])
    breaks = team(rep)["breaks"]
    assert breaks == {
        "count": 1,
        "seconds": 300.5,
        "by_reason": {"coaching": {"count": 1, "seconds": 300.5}},
    }


def test_first_event_a_pause_is_a_break() -> None:
    rep = report([paused("a1", 0, "meeting"), ready("a1", 60)])
    assert team(rep)["breaks"]["by_reason"] == {"meeting": {"count": 1, "seconds": 60.0}}


def test_break_belongs_to_the_team_of_the_pause_event() -> None:
    rep = report(
        [
            ready("a1", 0, team="T1"),
            paused("a1", 10, "training", team="T2"),
            ready("a1", 70, team="T1"),
        ]
    )
    assert team(rep, "T1")["breaks"]["count"] == 0
    assert team(rep, "T2")["breaks"]["by_reason"] == {"training": {"count": 1, "seconds": 60.0}}


def test_state_event_names_a_campaign_but_the_team_totals_sum_all_campaigns() -> None:
    rep = report(
        [
            state("a1", 0, "ready", campaign="C1"),
            state("a1", 100, "ready", campaign="C2"),
            state("a1", 300, "on_call", campaign="C2"),
            logged_out("a1", 350),
        ]
    )
    assert team(rep)["state_seconds"]["ready"] == 300.0
    assert team(rep)["state_seconds"]["on_call"] == 50.0
    # campaigns come from call events only
    assert rep["campaigns"] == {}


def test_dispositions_by_normalised_class_per_team_of_the_event() -> None:
    codes = {
        "T1": ["Sale", "CALLBACK", " appointment", "interested", "not-interested", "Do Not Call"],
        "T2": ["hung up", "ABUSIVE", "voicemail", "sale!", "no_answer", "positive"],
    }
    events: list[Event] = [ready("a1", 0, team="T1")]
    for team_id, team_codes in codes.items():
        events += [dispo("a1", 1, code, team=team_id) for code in team_codes]
    rep = report(events)
    assert team(rep, "T1")["dispositions"] == {"positive": 4, "negative": 2, "neutral": 0}
    assert team(rep, "T2")["dispositions"] == {"positive": 0, "negative": 2, "neutral": 4}
