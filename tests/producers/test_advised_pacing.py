"""Simulated dialers that follow the pacing advice (`floorpulse simulate --pacing advised`)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from producers.dialer import FIRST_LEVEL, CampaignDialer
from producers.floor import HOUR, FloorConfig
from producers.simulator import Simulation
from streams.analyze import analyze_with_pacing
from streams.codec import decode
from streams.engine import EventCounts, Floor, build_report
from streams.engine.pacing import Limit, PacingLimits, state_ms
from streams.report_text import render_text


def day(seed: int, **options: object) -> tuple[Simulation, Floor]:
    config = FloorConfig(duration_ms=8 * HOUR, pacing="advised", **options)  # type: ignore[arg-type]
    simulation = Simulation(config, random.Random(seed))
    floor = Floor()
    for event in simulation:
        floor.apply(event)
    floor.finalize()
    return simulation, floor


def test_predictive_is_the_default_and_a_pacing_is_one_of_two() -> None:
    assert FloorConfig().pacing == "predictive"
    with pytest.raises(ValueError, match="--pacing must be one of predictive, advised"):
        FloorConfig(pacing="fast")


@pytest.mark.parametrize(
    ("seed", "options"),
    [(1, {}), (2, {"blended": frozenset()}), (3, {"agents": 20, "teams": 2})],
    ids=["blended", "outbound", "small-teams"],
)
def test_advised_dialers_keep_abandoned_calls_under_the_line_and_room_to_breathe(
    seed: int, options: dict[str, object]
) -> None:
    simulation, floor = day(seed, **options)
    report = build_report(floor, EventCounts())
    people = state_ms(floor.agents.values())
    for name, campaign in report["campaigns"].items():
        assert campaign["abandon_ratio"] < 0.03, name
        ready, talking, wrapping, _paused = people[name]
        assert (talking + wrapping) / (talking + wrapping + ready) <= 0.85, name
        advice = simulation.dialers[name].advised
        assert advice is not None and advice.advice is not None
        assert advice.advice.limit in (Limit.ABANDON, Limit.OCCUPANCY)


def test_stricter_limits_give_a_gentler_floor() -> None:
    gentle = PacingLimits(abandon_target=0.01, occupancy_ceiling=0.75)
    _, usual = day(4, blended=frozenset())
    _, careful = day(4, blended=frozenset(), pacing_limits=gentle)
    for name in ("campaign-01", "campaign-02"):
        u, c = state_ms(usual.agents.values())[name], state_ms(careful.agents.values())[name]
        assert (c[1] + c[2]) / sum(c[:3]) < (u[1] + u[2]) / sum(u[:3])
        assert (c[1] + c[2]) / sum(c[:3]) <= 0.75


def test_an_advised_dialer_rings_only_for_people_ready() -> None:
    dialer = CampaignDialer("c1", random.Random(1), 0)
    dialer.wrapping = 4
    assert dialer.lines_to_dial(0) > 0  # a predictive dialer rings for people wrapping up
    dialer.follow_advice(PacingLimits())
    assert dialer.ratio == FIRST_LEVEL
    assert dialer.lines_to_dial(0) == 0


def test_the_same_seed_gives_the_same_advised_floor() -> None:
    config = FloorConfig(duration_ms=2 * HOUR, pacing="advised")
    first = list(Simulation(config, random.Random(9)))
    again = list(Simulation(config, random.Random(9)))
    assert first == again


def test_the_command_and_the_text_report(tmp_path: Path) -> None:
    from streams.cli import main

    log = tmp_path / "day.jsonl"
    assert main(["simulate", "--pacing", "advised", "--duration", "3h", "--out", str(log)]) == 0
    lines = log.read_bytes().splitlines()
    assert all(decode(line) for line in lines)
    report, pacing = analyze_with_pacing(lines)
    assert set(pacing) == {"campaign-01", "campaign-02"}
    text = render_text(report, pacing=pacing)
    assert "Pacing that leaves people room to breathe" in text
    section = text.split("Pacing that leaves people room to breathe")[1].split("Teams")[0]
    for name, found in pacing.items():
        row = next(line for line in section.splitlines() if line.strip().startswith(name))
        assert f"{found.advice.lines_per_agent:.2f}" in row
        assert f"{found.observed_lines_per_agent:.2f}" in row
    assert "abandoned calls" in section or "time between calls" in section
