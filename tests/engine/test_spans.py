"""Recoveries and spans, and the span check-ins: long_stretch, high_occupancy, rejection_streak
(stats.md, "Agent timeline" and "Wellbeing signals")."""

from __future__ import annotations

import pytest

from streams.engine import Params
from streams.events import AgentDisposition
from tests.engine.builders import (
    at,
    closed_at,
    dialed,
    dispo,
    fold,
    logged_out,
    on_call,
    opened_at,
    openings,
    paused,
    ready,
    report,
    run,
    team,
    wrap_up,
)

# recovery ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("back", "recovery"), [(4300, True), (4299.999, False)])
def test_off_phone_period_of_300s_is_a_recovery(back: float, recovery: bool) -> None:
    # Span 0..4000, off-phone 4000..back, then work until 9000. Only if the off period is short
    # does the span run on past 5400 s.
    floor = run(
        [
            ready("a1", 0),
            on_call("a1", 1),
            paused("a1", 4000),
            ready("a1", back),
            on_call("a1", back + 1),
            logged_out("a1", 9000),
            dialed("x", 10_000),
        ]
    )
    if recovery:
        assert opened_at(floor, "long_stretch") == []
    else:
        assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5400))]
        assert closed_at(floor, "long_stretch") == [("a1", at(5400), at(9000))]


@pytest.mark.parametrize(("back", "recovery"), [(4300, True), (4299.999, False)])
def test_pause_logout_pause_is_one_off_phone_period(back: float, recovery: bool) -> None:
    # each piece is well under 300 s; together they are (or are not quite) 300 s
    floor = run(
        [
            ready("a1", 0),
            on_call("a1", 1),
            paused("a1", 4000),
            logged_out("a1", 4100),
            paused("a1", 4200, "lunch"),
            ready("a1", back),
            on_call("a1", back + 1),
            logged_out("a1", 9000),
            dialed("x", 10_000),
        ]
    )
    expected = [] if recovery else [("a1", "T1", at(5400))]
    assert opened_at(floor, "long_stretch") == expected


@pytest.mark.parametrize(("end", "recovery"), [(5600, True), (5599.999, False)])
def test_off_phone_period_open_at_window_end(end: float, recovery: bool) -> None:
    # The pause starts before the 90-minute mark and is still open at the window end: it is a
    # recovery (ending the span at 5300) only if it has already lasted 300 s.
    rep_floor = run([ready("a1", 0), on_call("a1", 1), paused("a1", 5300), dialed("x", end)])
    if recovery:
        assert opened_at(rep_floor, "long_stretch") == []
    else:
        assert opened_at(rep_floor, "long_stretch") == [("a1", "T1", at(5400))]
    rep = report([ready("a1", 0), on_call("a1", 1), paused("a1", 5300), dialed("x", end)])
    assert team(rep)["checkins"]["long_stretch"] == (0 if recovery else 1)


def test_time_before_the_first_event_is_a_recovery() -> None:
    # The first working state starts a span even when the agent was paused just before.
    floor = run([paused("a1", 0), ready("a1", 10), on_call("a1", 11), dialed("x", 5410)])
    assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5410))]


# long_stretch -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("pause_at", "opens"), [(5400, True), (5399.999, False)])
def test_long_stretch_needs_a_span_of_5400s(pause_at: float, opens: bool) -> None:
    floor = run(
        [ready("a1", 0), on_call("a1", 5), paused("a1", pause_at), dialed("x", pause_at + 600)]
    )
    if opens:
        assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5400))]
        # the span ends where the recovery starts: the check-in closes there
        assert closed_at(floor, "long_stretch") == [("a1", at(5400), at(5400))]
    else:
        assert opened_at(floor, "long_stretch") == []


def test_long_stretch_kept_by_short_pauses_and_logouts() -> None:
    events = [
        ready("a1", 100),
        on_call("a1", 200),
        wrap_up("a1", 900),
        paused("a1", 1000, "restroom"),
        ready("a1", 1299.999),
        on_call("a1", 1300),
        logged_out("a1", 3000),
        ready("a1", 3250),
        on_call("a1", 3300),
        paused("a1", 5000),
        logged_out("a1", 5100),
        ready("a1", 5200),
        on_call("a1", 5300),
        wrap_up("a1", 6000),
    ]
    floor = run([*events, dialed("x", 6100)])
    assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5500))]
    assert closed_at(floor, "long_stretch") == []
    # at span start + 3600 s: busy 2900 s, ready 150.001 s, already above 0.9
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(3700))]
    rep = report([*events, dialed("x", 6100)])
    assert team(rep)["checkins"] == {
        "long_stretch": 1,
        "high_occupancy": 1,
        "rejection_streak": 0,
        "long_shift": 0,
    }


def test_long_stretch_team_is_the_team_at_the_opening_moment() -> None:
    floor = run(
        [
            ready("a1", 0, team="T1"),
            on_call("a1", 10, team="T1"),
            wrap_up("a1", 5000, team="T2"),
            ready("a1", 5399.999, team="T2"),
            on_call("a1", 5400.001, team="T3"),  # after the moment: does not matter
            dialed("x", 6000),
        ]
    )
    assert opened_at(floor, "long_stretch") == [("a1", "T2", at(5400))]


def test_long_stretch_closes_at_the_start_of_the_recovery_that_ends_the_span() -> None:
    events = [
        ready("a1", 0),
        on_call("a1", 10),
        wrap_up("a1", 7000),
        paused("a1", 7100, "lunch"),
        logged_out("a1", 7200),
    ]
    floor = fold(events)
    assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5400))]
    assert closed_at(floor, "long_stretch") == []  # the off period may still end short
    floor.apply(ready("a1", 7400))  # 300 s off-phone: a recovery after all
    assert closed_at(floor, "long_stretch") == [("a1", at(5400), at(7100))]


def test_long_stretch_closing_is_decided_by_a_tick() -> None:
    floor = fold([ready("a1", 0), on_call("a1", 10), paused("a1", 6000)])
    floor.tick("a1", at(6299.999))
    assert closed_at(floor, "long_stretch") == []
    floor.tick("a1", at(6300))
    assert closed_at(floor, "long_stretch") == [("a1", at(5400), at(6000))]


@pytest.mark.parametrize(("back", "opens"), [(5599.999, True), (5600, False)])
def test_pause_across_the_90_minute_mark_decides_retroactively(back: float, opens: bool) -> None:
    floor = fold([ready("a1", 0), on_call("a1", 1), paused("a1", 5300)])
    floor.tick("a1", at(5500))
    # the mark has passed inside a pause that may still become a recovery: nothing yet
    assert openings(floor, "long_stretch") == []
    floor.apply(ready("a1", back))
    floor.apply(on_call("a1", back + 1))
    floor.apply(dialed("x", 7000))
    floor.finalize()
    if opens:
        assert opened_at(floor, "long_stretch") == [("a1", "T1", at(5400))]
    else:
        assert opened_at(floor, "long_stretch") == []


def test_long_stretch_opens_once_per_span_and_again_in_the_next_span() -> None:
    events = [
        ready("a1", 0),
        on_call("a1", 1),
        paused("a1", 6000),  # short
        ready("a1", 6100),
        on_call("a1", 6200),
        paused("a1", 7000),  # recovery
        ready("a1", 8000),
        on_call("a1", 8001),
        logged_out("a1", 13_400),  # exactly 5400 s after 8000
        dialed("x", 14_000),
    ]
    floor = run(events)
    assert opened_at(floor, "long_stretch") == [
        ("a1", "T1", at(5400)),
        ("a1", "T1", at(13_400)),
    ]
    assert closed_at(floor, "long_stretch") == [
        ("a1", at(5400), at(7000)),
        ("a1", at(13_400), at(13_400)),
    ]
    assert team(report(events))["checkins"]["long_stretch"] == 2


# high_occupancy ---------------------------------------------------------------------------------


def test_high_occupancy_crossed_mid_call_after_the_first_hour() -> None:
    # ready 100.001 s + 300 s = 400.001 s; busy before the last call 1000 s + 200 s = 1200 s.
    # Occupancy >= 0.9 needs busy >= 9 * ready = 3600.009 s, i.e. 2400.009 s into the call that
    # starts at 1660.001 s: t = 4060.010 s. At span start + 3600 s it is 3139.999 / 3540 < 0.9.
    floor = run(
        [
            ready("a1", 0),
            on_call("a1", 100.001),
            wrap_up("a1", 1100.001),
            paused("a1", 1300.001, "restroom"),
            ready("a1", 1360.001),
            on_call("a1", 1660.001),
            wrap_up("a1", 5000),
            logged_out("a1", 5100),
            dialed("x", 6000),
        ]
    )
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(0) + 4_060_010)]
    assert closed_at(floor, "high_occupancy") == [("a1", at(0) + 4_060_010, at(5100))]


def test_high_occupancy_opens_at_span_start_plus_one_hour_when_already_above() -> None:
    floor = run([ready("a1", 50), on_call("a1", 60), dialed("x", 5000)])
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(3650))]


def test_high_occupancy_rounds_the_moment_up_to_whole_milliseconds() -> None:
    # θ = 0.85: busy / (busy + ready) >= 0.85 when busy >= 17/3 ready. ready = 1000.001 s needs
    # busy >= 5666.672333... s, so the call starting at 1000.001 s reaches it at 6666.674 s.
    params = Params(occupancy_threshold=0.85)
    floor = run([ready("a1", 0), on_call("a1", 1000.001), dialed("x", 8000)], params=params)
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(6666.674))]


@pytest.mark.parametrize(("ready_s", "opens"), [(400, True), (400.4, False)])
def test_high_occupancy_threshold_and_t_at_the_span_end(ready_s: float, opens: bool) -> None:
    # ready, then on call until 4000 s where a recovery starts: occupancy at the span end is
    # exactly 0.9 (3600/4000), or 0.8999 (3599.6/4000), and never higher before.
    floor = run([ready("a1", 0), on_call("a1", ready_s), paused("a1", 4000), dialed("x", 4600)])
    if opens:
        assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(4000))]
        assert closed_at(floor, "high_occupancy") == [("a1", at(4000), at(4000))]
    else:
        assert opened_at(floor, "high_occupancy") == []


@pytest.mark.parametrize(("end", "opens"), [(4000, True), (3999.999, False)])
def test_high_occupancy_t_no_later_than_a_span_end_at_the_window_end(
    end: float, opens: bool
) -> None:
    floor = run([ready("a1", 0), on_call("a1", 400), dialed("x", end)])
    expected = [("a1", "T1", at(4000))] if opens else []
    assert opened_at(floor, "high_occupancy") == expected


@pytest.mark.parametrize(("back", "opens"), [(3799.999, True), (3800, False)])
def test_high_occupancy_moment_inside_a_pause(back: float, opens: bool) -> None:
    # Above the threshold when the pause starts at 3500 s; span start + 3600 s falls inside the
    # pause: it opens there only if the pause ends short (else the span ended at 3500 s).
    events = [ready("a1", 0), on_call("a1", 1), paused("a1", 3500), ready("a1", back)]
    floor = run([*events, dialed("x", 4000)])
    expected = [("a1", "T1", at(3600))] if opens else []
    assert opened_at(floor, "high_occupancy") == expected


def test_high_occupancy_at_the_start_of_a_recovery_at_exactly_one_hour() -> None:
    floor = run([ready("a1", 0), on_call("a1", 1), paused("a1", 3600), dialed("x", 4000)])
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(3600))]
    assert closed_at(floor, "high_occupancy") == [("a1", at(3600), at(3600))]


def test_high_occupancy_ignores_work_before_the_span() -> None:
    # A busy first span, a recovery, then a second span that is mostly ready.
    floor = run(
        [
            ready("a1", 0),
            on_call("a1", 1),
            paused("a1", 3000),
            ready("a1", 3300),
            on_call("a1", 3700),
            dialed("x", 3300 + 3600),
        ]
    )
    # second span: ready 400 s, busy 3200 s at +3600 s: 0.888..., then rising while on call:
    # busy >= 9 * 400 s = 3600 s at 3700 + 3600 = 7300 s, past the window end (6900 s).
    assert opened_at(floor, "high_occupancy") == []


def test_high_occupancy_counts_wrap_up_as_busy_and_ready_against() -> None:
    floor = run(
        [
            ready("a1", 0),
            wrap_up("a1", 300),  # ready 300 s
            ready("a1", 3000),  # busy 2700 s
            wrap_up("a1", 3001),  # ready 301 s in all
            dialed("x", 6000),
        ]
    )
    # busy >= 9 * 301 s = 2709 s: 9 s into the second wrap-up, at 3010 s, before the hour: so
    # it opens at 3600 s.
    assert opened_at(floor, "high_occupancy") == [("a1", "T1", at(3600))]


# rejection_streak -------------------------------------------------------------------------------

NEGATIVES = ["not_interested", "Not Interested", "hung-up", "ABUSIVE", " do not call "]


def negatives(agent: str, times: list[float], **kw: str) -> list[AgentDisposition]:
    """Negative dispositions at the given times, with codes that normalise to negatives."""
    return [dispo(agent, t, NEGATIVES[i % len(NEGATIVES)], **kw) for i, t in enumerate(times)]


@pytest.mark.parametrize("n", [7, 8, 10])
def test_rejection_streak_opens_at_the_eighth_negative(n: int) -> None:
    times = [10.0 * (i + 1) for i in range(n)]
    floor = run([ready("a1", 0), on_call("a1", 1), *negatives("a1", times), dialed("x", 4000)])
    expected = [("a1", "T1", at(80))] if n >= 8 else []
    assert opened_at(floor, "rejection_streak") == expected


def test_a_positive_resets_the_streak() -> None:
    events = [
        *negatives("a1", [10, 20, 30, 40, 50]),
        dispo("a1", 60, "Sale"),
        *negatives("a1", [70, 80, 90, 100, 110, 120, 130]),
    ]
    floor = run([ready("a1", 0), on_call("a1", 1), *events, dialed("x", 4000)])
    assert opened_at(floor, "rejection_streak") == []
    floor = run(
        [ready("a1", 0), on_call("a1", 1), *events, *negatives("a1", [140]), dialed("x", 4000)]
    )
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(140))]


def test_neutral_neither_counts_nor_resets() -> None:
    events = [
        *negatives("a1", [10, 20, 30, 40]),
        dispo("a1", 50, "voicemail"),
        dispo("a1", 55, "wrong_number"),
        *negatives("a1", [60, 70, 80, 90]),
    ]
    floor = run([ready("a1", 0), on_call("a1", 1), *events, dialed("x", 4000)])
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(90))]


def test_a_new_span_resets_the_streak() -> None:
    floor = run(
        [
            ready("a1", 0),
            *negatives("a1", [10, 20, 30, 40, 50]),
            paused("a1", 100),
            ready("a1", 400),  # 300 s: a recovery
            *negatives("a1", [410, 420, 430]),
            dialed("x", 4000),
        ]
    )
    assert opened_at(floor, "rejection_streak") == []


def test_a_short_pause_keeps_the_streak() -> None:
    floor = run(
        [
            ready("a1", 0),
            *negatives("a1", [10, 20, 30, 40, 50]),
            paused("a1", 100),
            ready("a1", 399.999),
            *negatives("a1", [410, 420, 430]),
            dialed("x", 4000),
        ]
    )
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(430))]


def test_negatives_during_a_short_pause_count_at_their_own_time() -> None:
    events = [
        ready("a1", 0),
        *negatives("a1", [10, 20, 30, 40]),
        paused("a1", 100),
        *negatives("a1", [150, 160, 170, 180]),
    ]
    floor = fold(events)
    floor.tick("a1", at(390))
    assert openings(floor) == []  # still a pause that may become a recovery
    floor.apply(ready("a1", 399.999))
    floor.apply(dialed("x", 4000))
    floor.finalize()
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(180))]


@pytest.mark.parametrize("dispo_first", [True, False])
def test_disposition_at_the_span_end_is_inside_the_span(dispo_first: bool) -> None:
    # The pause at 100 s starts a recovery; the 8th negative shares its millisecond.
    eighth = dispo("a1", 100, "hung_up")
    pause = paused("a1", 100)
    tail = [eighth, pause] if dispo_first else [pause, eighth]
    floor = run([ready("a1", 0), *negatives("a1", [10, 20, 30, 40, 50, 60, 70]), *tail])
    floor_end = run(
        [
            ready("a1", 0),
            *negatives("a1", [10, 20, 30, 40, 50, 60, 70]),
            *tail,
            dialed("x", 1000),
        ]
    )
    for f in (floor, floor_end):
        assert opened_at(f, "rejection_streak") == [("a1", "T1", at(100))]
    assert closed_at(floor_end, "rejection_streak") == [("a1", at(100), at(100))]


def test_dispositions_during_a_recovery_belong_to_no_span() -> None:
    events = [
        ready("a1", 0),
        *negatives("a1", [10, 20, 30, 40]),
        paused("a1", 100),
        *negatives("a1", [150, 399.999, 400, 650]),  # the off period lasts until 700 s
        ready("a1", 700),
        *negatives("a1", [710, 720, 730]),
        dialed("x", 4000),
    ]
    floor = run(events)
    assert opened_at(floor, "rejection_streak") == []
    rep = report(events)
    assert team(rep)["dispositions"] == {"positive": 0, "negative": 11, "neutral": 0}


@pytest.mark.parametrize(("first_at", "opens"), [(1000, True), (999.999, False)])
def test_disposition_at_the_span_start_before_the_state_event(first_at: float, opens: bool) -> None:
    # A recovery until 1000 s; the first negative is logged just before the state event that
    # starts the span, at the same millisecond (inside the span) or 1 ms earlier (outside).
    floor = run(
        [
            ready("a1", 0),
            paused("a1", 100),
            *negatives("a1", [first_at]),
            ready("a1", 1000),
            *negatives("a1", [1010, 1020, 1030, 1040, 1050, 1060, 1070]),
            dialed("x", 4000),
        ]
    )
    expected = [("a1", "T1", at(1070))] if opens else []
    assert opened_at(floor, "rejection_streak") == expected


def test_disposition_at_the_first_event_millisecond_before_the_first_state() -> None:
    floor = run(
        [
            *negatives("a1", [5]),
            ready("a1", 5),
            *negatives("a1", [10, 20, 30, 40, 50, 60, 70]),
            dialed("x", 4000),
        ]
    )
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(70))]


def test_rejection_streak_opens_once_per_span() -> None:
    floor = run(
        [
            ready("a1", 0),
            *negatives("a1", [float(i) for i in range(1, 20)]),
            paused("a1", 100),
            ready("a1", 200),
            *negatives("a1", [float(i) for i in range(201, 210)]),
            dialed("x", 4000),
        ]
    )
    assert opened_at(floor, "rejection_streak") == [("a1", "T1", at(8))]


def test_rejection_streak_is_counted_in_the_state_team_not_the_disposition_team() -> None:
    events = [
        ready("a1", 0, team="T1"),
        *negatives("a1", [10, 20, 30, 40, 50, 60, 70, 80], team="T2"),
        dialed("x", 4000),
    ]
    rep = report(events)
    assert team(rep, "T1")["checkins"]["rejection_streak"] == 1
    assert team(rep, "T2")["checkins"]["rejection_streak"] == 0
    assert team(rep, "T2")["dispositions"] == {"positive": 0, "negative": 8, "neutral": 0}
    assert team(rep, "T1")["dispositions"] == {"positive": 0, "negative": 0, "neutral": 0}


def test_long_stretch_at_exactly_the_window_end_counts_in_the_last_team() -> None:
    # The span lasts exactly 5400 s up to the window end; the last state event, at that very
    # millisecond, names another team: the check-in counts there.
    events = [ready("a1", 0, team="T1"), on_call("a1", 1, team="T1"), ready("a1", 5400, team="T2")]
    floor = run(events)
    assert opened_at(floor, "long_stretch") == [("a1", "T2", at(5400))]
    assert team(report(events), "T2")["checkins"]["long_stretch"] == 1
