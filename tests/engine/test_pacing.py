"""The pacing advice: its limits, its monotonicity, the exact chain it approximates, and the
campaign numbers the engine keeps for it."""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import random

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.engine import Floor
from streams.engine.calls import CallTrack, CampaignTrack
from streams.engine.pacing import (
    HIGHEST,
    LOWEST,
    Limit,
    PaceInputs,
    PacingLimits,
    advise,
    calibration,
    campaign_inputs,
    checked_advice,
    expect,
    level_for,
    state_ms,
    wrap_per_talk,
)
from streams.engine.totals import PACE_KEEP_MS, CampaignTotals
from tests.engine.builders import (
    answered,
    at,
    connected,
    dialed,
    dropped,
    ended,
    on_call,
    queued,
    ready,
    unanswered,
    wrap_up,
)

FLOOR = PaceInputs(people=15, answer_ratio=0.27, ring_seconds=15.2, handle_seconds=130)
"""About a campaign of the simulated floor."""
ONLY_ABANDON = PacingLimits(abandon_target=0.02, occupancy_ceiling=0.9999)
ONLY_OCCUPANCY = PacingLimits(abandon_target=0.9999, occupancy_ceiling=0.85)

campaigns = st.builds(
    PaceInputs,
    people=st.floats(1, 120),
    answer_ratio=st.floats(0.03, 0.6),
    ring_seconds=st.floats(2, 40),
    handle_seconds=st.floats(15, 900),
)
more = st.floats(1.0, 2.0)


# limits --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "limits",
    [
        {"abandon_target": 0},
        {"abandon_target": 1},
        {"occupancy_ceiling": 0},
        {"occupancy_ceiling": 1.2},
    ],
)
def test_limits_must_be_shares(limits: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        PacingLimits(**limits)


def test_the_default_limits_leave_a_margin_under_the_line_and_room_to_breathe() -> None:
    assert PacingLimits() == PacingLimits(abandon_target=0.02, occupancy_ceiling=0.85)


@settings(max_examples=60, deadline=None)
@given(campaigns)
def test_the_advice_keeps_both_limits_and_one_of_them_binds(inputs: PaceInputs) -> None:
    limits = PacingLimits()
    advice = advise(inputs, limits)
    assert advice is not None
    if not advice.within_limits:
        assert advice.dial_level == LOWEST
        return
    assert advice.abandon_ratio <= limits.abandon_target
    assert advice.occupancy_ratio <= limits.occupancy_ceiling
    if advice.limit is Limit.HIGHEST:
        assert advice.dial_level == HIGHEST
        return
    # A little more and the limit that set the advice is passed.
    above = expect(inputs, advice.dial_level * 1.001)
    if advice.limit is Limit.ABANDON:
        assert above.abandon_ratio > limits.abandon_target
    else:
        assert above.occupancy_ratio > limits.occupancy_ceiling


@settings(max_examples=60, deadline=None)
@given(campaigns)
def test_the_lower_limit_wins(inputs: PaceInputs) -> None:
    both, by_abandon, by_occupancy = (
        advise(inputs, limits) for limits in (PacingLimits(), ONLY_ABANDON, ONLY_OCCUPANCY)
    )
    assert both is not None and by_abandon is not None and by_occupancy is not None
    assert both.dial_level == min(by_abandon.dial_level, by_occupancy.dial_level)
    if both.within_limits and by_abandon.dial_level < by_occupancy.dial_level:
        assert both.limit is Limit.ABANDON
    elif both.within_limits and by_occupancy.dial_level < by_abandon.dial_level:
        assert both.limit is Limit.OCCUPANCY


def test_a_small_team_is_limited_by_abandoned_calls_a_large_one_by_occupancy() -> None:
    small = advise(FLOOR)
    large = advise(dataclasses.replace(FLOOR, people=200))
    assert small is not None and large is not None
    assert small.limit is Limit.ABANDON and large.limit is Limit.OCCUPANCY
    assert small.dial_level < large.dial_level
    assert large.occupancy_ratio == pytest.approx(0.85, abs=1e-3)
    assert small.abandon_ratio == pytest.approx(0.02, abs=1e-4)


def test_a_stricter_limit_never_raises_the_advice() -> None:
    advice = [
        advise(FLOOR, PacingLimits(abandon_target=t, occupancy_ceiling=c))
        for t, c in ((0.03, 0.9), (0.02, 0.9), (0.02, 0.85), (0.01, 0.85), (0.01, 0.7))
    ]
    levels = [a.dial_level for a in advice if a is not None]
    assert levels == sorted(levels, reverse=True) and len(levels) == 5


def test_numbers_it_cannot_read_get_no_advice() -> None:
    for broken in (
        dataclasses.replace(FLOOR, people=0.5),
        dataclasses.replace(FLOOR, answer_ratio=0),
        dataclasses.replace(FLOOR, answer_ratio=1),
        dataclasses.replace(FLOOR, ring_seconds=0),
        dataclasses.replace(FLOOR, handle_seconds=math.inf),
    ):
        assert advise(broken) is None


# monotonicity --------------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(campaigns, more)
def test_more_answers_never_raise_the_advised_pace(inputs: PaceInputs, factor: float) -> None:
    richer = dataclasses.replace(inputs, answer_ratio=min(0.99, inputs.answer_ratio * factor))
    assert _level(richer) <= _level(inputs)


@settings(max_examples=80, deadline=None)
@given(campaigns, more)
def test_longer_calls_never_raise_the_advised_pace(inputs: PaceInputs, factor: float) -> None:
    longer = dataclasses.replace(inputs, handle_seconds=inputs.handle_seconds * factor)
    assert _level(longer) <= _level(inputs)


@settings(max_examples=40, deadline=None)
@given(campaigns)
def test_more_lines_mean_more_abandoned_calls_and_less_time_between_calls(
    inputs: PaceInputs,
) -> None:
    seen = [expect(inputs, level) for level in (0.25, 0.5, 1, 1.5, 2, 3, 5, 8, 13, 20)]
    for before, after in itertools.pairwise(seen):
        assert after.abandon_ratio >= before.abandon_ratio
        assert after.occupancy_ratio >= before.occupancy_ratio
        assert after.lines_per_agent >= before.lines_per_agent


def _level(inputs: PaceInputs) -> float:
    advice = advise(inputs)
    assert advice is not None
    return advice.dial_level


# the model against what it approximates ------------------------------------------------------


def test_occupancy_follows_littles_law() -> None:
    # Lines ring L per ready person, each gives a person every ring / answer seconds: a ready
    # person waits ring / (answer·L·(1 - abandoned)) for a call, then is busy `handle`.
    for people in (15, 60):
        inputs = dataclasses.replace(FLOOR, people=people)
        for level in (1.0, 2.0, 3.0):
            seen = expect(inputs, level)
            wait = inputs.ring_seconds / (
                inputs.answer_ratio * seen.lines_per_agent * (1 - seen.abandon_ratio)
            )
            fluid = inputs.handle_seconds / (inputs.handle_seconds + wait)
            assert seen.occupancy_ratio == pytest.approx(fluid, abs=0.01)


@pytest.mark.parametrize("people", [3, 5, 8])
@pytest.mark.parametrize("level", [2, 3])
@pytest.mark.parametrize(("answer", "handle"), [(0.2, 120), (0.3, 300)])
def test_the_model_is_close_to_the_exact_chain(
    people: int, level: int, answer: float, handle: float
) -> None:
    inputs = PaceInputs(people, answer, 15.0, handle)
    exact_abandon, exact_occupancy = exact_chain(people, level, answer, 15.0, handle)
    seen = expect(inputs, level)
    assert seen.occupancy_ratio == pytest.approx(exact_occupancy, abs=0.01)
    assert 0.75 * exact_abandon <= seen.abandon_ratio <= 1.05 * exact_abandon


@functools.cache
def exact_chain(n: int, level: int, p: float, ring: float, handle: float) -> tuple[float, float]:
    """The Markov chain the model approximates, solved exactly (Gauss-Seidel): states (people
    ready k, lines ringing m); the dialer tops m up to level·k and never hangs up a line."""

    def top_up(k: int, m: int) -> tuple[int, int]:
        return k, max(m, level * k)

    moves: dict[tuple[int, int], list[tuple[tuple[int, int], float]]] = {}
    todo = [top_up(0, 0)]
    while todo:
        state = todo.pop()
        if state in moves:
            continue
        k, m = state
        out = []
        if k < n:
            out.append((top_up(k + 1, m), (n - k) / handle))
        if m:
            out.append((top_up(k, m - 1), m * (1 - p) / ring))
            out.append((top_up(k - 1, m - 1) if k else (0, m - 1), m * p / ring))
        moves[state] = out
        todo += [target for target, _ in out]
    states = sorted(moves)
    into: dict[tuple[int, int], list[tuple[tuple[int, int], float]]] = {s: [] for s in states}
    leaving = dict.fromkeys(states, 0.0)
    for state, out in moves.items():
        for target, rate in out:
            if target != state:
                into[target].append((state, rate))
                leaving[state] += rate
    pi = dict.fromkeys(states, 1 / len(states))
    for _ in range(20_000):
        change = 0.0
        for s in states:
            value = sum(pi[f] * r for f, r in into[s]) / leaving[s]
            change = max(change, abs(value - pi[s]) / (pi[s] + 1e-12))
            pi[s] = value
        total = sum(pi.values())
        pi = {s: v / total for s, v in pi.items()}
        if change < 1e-10:
            break
    answers = sum(pi[k, m] * m for k, m in states)
    lost = sum(pi[k, m] * m for k, m in states if k == 0)
    ready_people = sum(pi[k, m] * k for k, m in states)
    return lost / answers, 1 - ready_people / n


# checking the advice against a campaign's own abandoned calls --------------------------------


def test_a_dialer_that_abandons_no_more_than_expected_keeps_the_models_advice() -> None:
    expected = expect(FLOOR, 2.0).abandon_ratio * 1000
    assert calibration(FLOOR, 2.0, 1000, math.floor(expected)) == 1
    assert calibration(FLOOR, 2.0, 1000, 0) == 1
    assert calibration(FLOOR, 2.0, 0, 0) == 1


def test_more_abandoned_calls_than_expected_make_the_advice_more_careful() -> None:
    expected = expect(FLOOR, 2.0).abandon_ratio * 1000
    factor = calibration(FLOOR, 2.0, 1000, round(3 * expected))
    assert 2.5 < factor < 3
    model, checked = advise(FLOOR), advise(FLOOR, calibration=factor)
    assert model is not None and checked is not None
    assert checked.dial_level < model.dial_level
    assert checked.abandon_ratio == pytest.approx(0.02, abs=1e-4)


def test_a_checked_advice_reads_the_pace_the_campaign_ran() -> None:
    ran = expect(FLOOR, 2.0)
    assert level_for(FLOOR, ran.lines_per_agent) == pytest.approx(2.0, abs=1e-3)
    checked = checked_advice(FLOOR, ran.lines_per_agent, 2000, 90)
    assert checked is not None
    assert checked.expected_abandon_at_observed == pytest.approx(ran.abandon_ratio, rel=1e-3)
    assert checked.observed_abandon_ratio == 0.045
    assert checked.calibration > 1
    assert checked.advice.lines_per_agent < checked.model_lines_per_agent


# the campaign numbers the engine keeps -------------------------------------------------------


def test_lines_ring_until_their_first_outcome() -> None:
    floor = Floor()
    for event in (
        dialed("c1", 0),
        answered("c1", 12),  # rang 12 s
        dialed("c2", 1),
        unanswered("c2", 26),  # 25 s
        dialed("c3", 2),
        answered("c3", 9, by="machine"),  # 7 s
        dialed("c4", 3),
        dropped("c4", 7),  # 4 s: the drop implies the answer
        dialed("c5", 4),
        connected("c5", 10),  # 6 s, an implied answer too
        queued("in1", 5),  # a caller in the queue rings no line
        connected("in1", 30, agent="a2"),
    ):
        floor.apply(event)
    totals = floor.campaigns["C1"].totals
    assert totals.rung_ms == (12 + 25 + 7 + 4 + 6) * 1000
    assert totals.active == [0, 1, 2]  # c1 waits for a person; c5 and the caller talk


def test_people_count_from_their_calls_with_breaks_left_out() -> None:
    floor = Floor()
    for event in (
        connected("c1", 0, agent="a1"),
        ended("c1", 100),
        connected("c2", 130, agent="a1"),  # back after 30 s: 130 s of work
        ended("c2", 200),
        connected("c3", 200 + 600, agent="a1"),  # back after a 10-minute break: not work
        ended("c3", 860),
        connected("c4", 900, agent="a1"),  # 100 s more
        connected("c5", 50, agent="a2"),  # a2's first call: nothing before it to count
    ):
        floor.apply(event)
    assert floor.campaigns["C1"].totals.person_ms == (130 + 100) * 1000


def test_pace_marks_cover_the_last_hour() -> None:
    floor = Floor()
    for minute in range(0, 240):
        floor.apply(dialed(f"c{minute}", minute * 60.0))
        floor.apply(unanswered(f"c{minute}", minute * 60.0 + 20))
    totals = floor.campaigns["C1"].totals
    marks = totals.pace
    now = floor.campaigns["C1"].clock
    assert marks[0].ts <= now - PACE_KEEP_MS < marks[1].ts
    assert all(b.ts - a.ts >= 300_000 for a, b in itertools.pairwise(marks))
    assert totals.pace_since == at(0)  # the campaign's first sweep, at its first event
    assert [m.dialed for m in marks] == sorted(m.dialed for m in marks)


def test_older_entries_read_as_before() -> None:
    # Entries written before the pace existed: calls without the two new fields at their end,
    # campaigns without the pace counters.
    old_call = msgspec.msgpack.encode(
        [at(1), 0, False, False, 0, False, False, 0, ["e1"], 0, False]
    )
    call = msgspec.msgpack.decode(old_call, type=CallTrack)
    assert (call.dialed_ts, call.agent) == (0, "")
    old_campaign = msgspec.msgpack.encode({"totals": {"dialed": 3}, "calls": {}, "clock": 5})
    track = msgspec.msgpack.decode(old_campaign, type=CampaignTrack)
    assert track.totals.dialed == 3 and track.totals.pace == [] and track.people == {}


def test_inputs_from_a_campaigns_calls() -> None:
    floor = Floor()
    rng = random.Random(5)
    t, call = 0.0, 0
    # Two people who take a call every 130 s or so (100 s talk), 4 lines dialed a call.
    for _ in range(200):
        for agent in ("a1", "a2"):
            call += 1
            for extra in range(3):
                floor.apply(dialed(f"x{call}-{extra}", t))
                floor.apply(unanswered(f"x{call}-{extra}", t + 20))
            floor.apply(dialed(f"c{call}", t))
            floor.apply(answered(f"c{call}", t + 10))
            floor.apply(connected(f"c{call}", t + 10.5, agent=agent))
            floor.apply(ended(f"c{call}", t + 110.5))
            floor.apply(on_call(agent, t + 10.5, call=f"c{call}"))
            floor.apply(wrap_up(agent, t + 110.5))
            floor.apply(ready(agent, t + 130.5))
        t += 130 + rng.random()
    track = floor.campaigns["C1"]
    wrap = wrap_per_talk(state_ms(floor.agents.values()))["C1"]
    assert wrap == pytest.approx(0.2, abs=0.01)
    inputs = campaign_inputs(track.totals, track.clock, wrap)
    assert inputs is not None
    # The window starts at a mark, amid calls: its edges move the ratios a little.
    assert inputs.answer_ratio == pytest.approx(0.25, rel=0.02)
    assert inputs.ring_seconds == pytest.approx((10 + 3 * 20) / 4, rel=0.02)
    assert inputs.handle_seconds == pytest.approx(120, rel=0.01)
    assert inputs.people == pytest.approx(2, rel=0.02)
    whole = campaign_inputs(track.totals, track.clock, wrap, None)
    assert whole is not None and whole.people == pytest.approx(2, rel=0.02)


def test_too_few_calls_give_no_inputs() -> None:
    assert campaign_inputs(CampaignTotals(), 0, 0.2) is None
    floor = Floor()
    for n in range(10):
        floor.apply(dialed(f"c{n}", n))
        floor.apply(unanswered(f"c{n}", n + 20))
    track = floor.campaigns["C1"]
    assert campaign_inputs(track.totals, track.clock, 0.2) is None
