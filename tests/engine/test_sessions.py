"""Sessions and the long_shift check-in (stats.md, "Session")."""

from __future__ import annotations

import pytest

from tests.engine.builders import (
    at,
    closed_at,
    dialed,
    fold,
    logged_out,
    on_call,
    opened_at,
    paused,
    ready,
    report,
    run,
    team,
    wrap_up,
)

SHIFT = 32_400


def test_long_shift_opens_nine_hours_after_the_session_start() -> None:
    events = [
        ready("a1", 0),
        on_call("a1", 10),
        paused("a1", 3000, "lunch"),  # a long pause: a recovery, not a logout
        ready("a1", 6600),
        on_call("a1", 6610),
        wrap_up("a1", 20_000),
        ready("a1", 20_100),
        logged_out("a1", 33_000),
        dialed("x", 36_000),
    ]
    floor = run(events)
    assert opened_at(floor, "long_shift") == [("a1", "T1", at(SHIFT))]
    assert closed_at(floor, "long_shift") == [("a1", at(SHIFT), at(33_000))]
    assert team(report(events))["checkins"]["long_shift"] == 1


@pytest.mark.parametrize(("out_at", "opens"), [(SHIFT, True), (SHIFT - 0.001, False)])
def test_long_shift_needs_a_session_of_nine_hours(out_at: float, opens: bool) -> None:
    floor = run([ready("a1", 0), logged_out("a1", out_at), dialed("x", 40_000)])
    if opens:
        assert opened_at(floor, "long_shift") == [("a1", "T1", at(SHIFT))]
        assert closed_at(floor, "long_shift") == [("a1", at(SHIFT), at(SHIFT))]
    else:
        assert opened_at(floor, "long_shift") == []


@pytest.mark.parametrize(("back", "same_session"), [(11_799.999, True), (11_800, False)])
def test_logout_shorter_than_1800s_keeps_the_session(back: float, same_session: bool) -> None:
    floor = run(
        [
            ready("a1", 0),
            logged_out("a1", 10_000),
            ready("a1", back),
            logged_out("a1", 40_000),
            dialed("x", 45_000),
        ]
    )
    expected = [("a1", "T1", at(SHIFT))] if same_session else []
    assert opened_at(floor, "long_shift") == expected


def test_session_after_a_long_logout_starts_at_the_login() -> None:
    floor = run(
        [
            ready("a1", 0),
            logged_out("a1", 10_000),
            paused("a1", 11_800, "meeting"),  # any state other than logged_out starts it
            ready("a1", 12_000),
            dialed("x", 11_800 + SHIFT),
        ]
    )
    assert opened_at(floor, "long_shift") == [("a1", "T1", at(11_800 + SHIFT))]


def test_session_before_the_first_event_counts_as_a_logout() -> None:
    floor = run(
        [
            logged_out("a1", 0),
            ready("a1", 100),  # only 100 s after the first event, yet a session starts
            paused("b1", 0),  # another agent whose first event is a pause: a session at 0
            dialed("x", 100 + SHIFT),
        ]
    )
    assert sorted(opened_at(floor, "long_shift")) == [
        ("a1", "T1", at(100 + SHIFT)),
        ("b1", "T1", at(SHIFT)),
    ]


@pytest.mark.parametrize(("back", "opens"), [(33_799.999, True), (33_800, False)])
def test_nine_hour_mark_inside_a_logout_decides_retroactively(back: float, opens: bool) -> None:
    floor = fold([ready("a1", 0, team="T1"), logged_out("a1", 32_000, team="T2")])
    floor.tick("a1", at(33_000))
    assert opened_at(floor, "long_shift") == []  # the logout may still last 1800 s
    floor.apply(ready("a1", back, team="T3"))
    floor.apply(dialed("x", 40_000))
    floor.finalize()
    # the team is that of the latest agent.state at or before the moment: the logout's
    expected = [("a1", "T2", at(SHIFT))] if opens else []
    assert opened_at(floor, "long_shift") == expected


@pytest.mark.parametrize(("end", "opens"), [(33_799.999, True), (33_800, False)])
def test_logout_open_at_window_end(end: float, opens: bool) -> None:
    events = [ready("a1", 0), logged_out("a1", 32_000), dialed("x", end)]
    floor = run(events)
    expected = [("a1", "T1", at(SHIFT))] if opens else []
    assert opened_at(floor, "long_shift") == expected
    assert team(report(events))["checkins"]["long_shift"] == int(opens)


def test_long_shift_team_when_several_states_share_the_millisecond() -> None:
    floor = run(
        [
            ready("a1", 0, team="T1"),
            on_call("a1", SHIFT, team="T2"),
            wrap_up("a1", SHIFT, team="T3"),  # the last in order at that millisecond
            ready("a1", SHIFT + 0.001, team="T4"),
            dialed("x", SHIFT + 100),
        ]
    )
    assert opened_at(floor, "long_shift") == [("a1", "T3", at(SHIFT))]
    rep = report(
        [
            ready("a1", 0, team="T1"),
            on_call("a1", SHIFT, team="T2"),
            wrap_up("a1", SHIFT, team="T3"),
            ready("a1", SHIFT + 0.001, team="T4"),
            dialed("x", SHIFT + 100),
        ]
    )
    assert [team(rep, t)["checkins"]["long_shift"] for t in ("T1", "T2", "T3", "T4")] == [
        0,
        0,
        1,
        0,
    ]


def test_long_shift_opens_once_per_session_and_again_in_a_new_session() -> None:
    floor = run(
        [
            ready("a1", 0),
            logged_out("a1", 1000),
            ready("a1", 2000),  # short logout: same session
            logged_out("a1", 40_000),
            ready("a1", 50_000),  # a new session
            logged_out("a1", 50_000 + SHIFT + 1),
            dialed("x", 50_000 + SHIFT + 3600),
        ]
    )
    assert opened_at(floor, "long_shift") == [
        ("a1", "T1", at(SHIFT)),
        ("a1", "T1", at(50_000 + SHIFT)),
    ]
    assert closed_at(floor, "long_shift") == [
        ("a1", at(SHIFT), at(40_000)),
        ("a1", at(50_000 + SHIFT), at(50_000 + SHIFT + 1)),
    ]


def test_long_shift_closing_waits_for_the_logout_to_last_1800s() -> None:
    floor = fold([ready("a1", 0), logged_out("a1", 33_000)])
    floor.tick("a1", at(34_799.999))
    assert opened_at(floor, "long_shift") == [("a1", "T1", at(SHIFT))]
    assert closed_at(floor, "long_shift") == []
    floor.tick("a1", at(34_800))
    assert closed_at(floor, "long_shift") == [("a1", at(SHIFT), at(33_000))]
