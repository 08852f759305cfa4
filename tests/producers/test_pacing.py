"""Pacing: event time mapped to wall time at a speed, driven by a fake clock that never sleeps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from producers.pacing import Pacer, parse_speed


class FakeClock:
    """A clock that moves only when slept on, or when a test moves it."""

    def __init__(self) -> None:
        self.now = 1_000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def pacer(speed: float | None, clock: FakeClock, **options: object) -> Pacer:
    return Pacer(speed, clock=clock, sleep=clock.sleep, **options)  # type: ignore[arg-type]


def test_real_time_waits_the_gaps_between_events() -> None:
    clock = FakeClock()
    pace = pacer(1.0, clock)

    for ts in (5_000, 6_000, 8_500, 8_500):
        pace.wait_until(ts)

    assert clock.sleeps == pytest.approx([1.0, 2.5])


def test_a_factor_shrinks_the_gaps() -> None:
    clock = FakeClock()
    pace = pacer(60.0, clock)

    pace.wait_until(0 + 1)
    pace.wait_until(60_000 + 1)
    pace.wait_until(3_600_000 + 1)

    assert clock.sleeps == pytest.approx([1.0, 59.0])


def test_started_at_an_event_time_the_first_event_waits_too() -> None:
    clock = FakeClock()
    pace = pacer(2.0, clock)
    pace.start(10_000)

    pace.wait_until(14_000)
    pace.wait_until(15_000)

    assert clock.sleeps == pytest.approx([2.0, 0.5])


def test_max_never_reads_the_clock_or_sleeps() -> None:
    def no_clock() -> float:
        raise AssertionError("read the clock")

    def no_sleep(seconds: float) -> None:
        raise AssertionError("slept")

    pace = Pacer(None, clock=no_clock, sleep=no_sleep)
    for ts in (1, 10**9, 10**12):
        pace.start(ts)
        pace.wait_until(ts)


def test_a_producer_behind_schedule_does_not_sleep_but_keeps_the_schedule() -> None:
    clock = FakeClock()
    pace = pacer(1.0, clock)

    pace.wait_until(1_000)
    clock.now += 5.0  # the sink was slow
    pace.wait_until(3_000)
    pace.wait_until(10_000)

    # Due at +9 s from the first event: 5 s were already spent, so 4 s remain.
    assert clock.sleeps == pytest.approx([4.0])


def test_on_wait_runs_before_sleeping_and_its_time_counts() -> None:
    clock = FakeClock()
    flushed: list[float] = []

    def flush() -> None:
        flushed.append(clock.now)
        clock.now += 0.25

    pace = pacer(1.0, clock, on_wait=flush)
    pace.wait_until(0 + 1)
    pace.wait_until(1_000 + 1)

    assert len(flushed) == 1
    assert clock.sleeps == pytest.approx([0.75])


def test_waits_shorter_than_the_slack_are_skipped() -> None:
    clock = FakeClock()
    pace = pacer(1.0, clock, slack_s=0.01)

    pace.wait_until(1)
    pace.wait_until(6)
    pace.wait_until(1_001)

    assert clock.sleeps == pytest.approx([1.0])


@given(
    speed=st.floats(0.01, 10_000),
    gaps=st.lists(st.integers(0, 3_600_000), min_size=1, max_size=30),
)
def test_wall_time_spent_is_event_time_over_speed(speed: float, gaps: list[int]) -> None:
    clock = FakeClock()
    pace = pacer(speed, clock, slack_s=0.0)
    ts = 1
    pace.wait_until(ts)
    for gap in gaps:
        ts += gap
        pace.wait_until(ts)

    assert sum(clock.sleeps) == pytest.approx(sum(gaps) / 1000 / speed, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize(
    ("text", "speed"), [("max", None), (" MAX ", None), ("1", 1.0), ("60", 60.0), ("0.5", 0.5)]
)
def test_speeds_parse(text: str, speed: float | None) -> None:
    assert parse_speed(text) == speed


@pytest.mark.parametrize("text", ["0", "-1", "fast", "nan", "inf", ""])
def test_bad_speeds_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="positive number or `max`"):
        parse_speed(text)


def test_a_pacer_refuses_a_speed_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0.0)
