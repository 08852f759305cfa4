"""Properties of the engine over generated floors (stats.md: the same events give the same
numbers however they are interleaved across entities, partitioned, or fed in time)."""

from __future__ import annotations

import random
import zlib
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.analyze import fold_lines
from streams.engine import EventCounts, Floor, Outcome, build_report
from streams.events import AgentDisposition, AgentStateChanged, Event
from tests.engine.builders import effect_key, first_difference, lines
from tests.engine.logs import FloorLog, floor_logs, partition_key
from tests.engine.reference import Reference

PROPERTY = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def offline(log: FloorLog, events: list[Event]) -> tuple[dict[str, Any], Floor]:
    """The offline analyzer's report of a log, and its finalized floor."""
    floor, counts = fold_lines(lines(events), log.params)
    floor.finalize()
    return build_report(floor, counts), floor


def effects(floor: Floor) -> list[tuple[str, str, str, int, int]]:
    return sorted(effect_key(c) for c in floor.effects)


def assert_reports_equal(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    difference = first_difference(actual, expected)
    assert difference is None, difference


@PROPERTY
@given(log=floor_logs(), rnd=st.randoms(use_true_random=False))
def test_interleaving_entities_differently_changes_nothing(
    log: FloorLog, rnd: random.Random
) -> None:
    first, first_floor = offline(log, log.interleave(rnd))
    second, second_floor = offline(log, log.interleave(rnd))
    assert_reports_equal(second, first)
    assert effects(second_floor) == effects(first_floor)


@PROPERTY
@given(
    log=floor_logs(),
    rnd=st.randoms(use_true_random=False),
    parts=st.integers(1, 6),
    salt=st.integers(0, 1000),
)
def test_folding_partitions_apart_and_merging_gives_the_same_report(
    log: FloorLog, rnd: random.Random, parts: int, salt: int
) -> None:
    events = log.interleave(rnd)
    whole, whole_floor = offline(log, events)

    floors = [Floor(log.params) for _ in range(parts)]
    outcomes: Counter[Outcome] = Counter()
    for event in events:
        key = partition_key(event)
        part = zlib.crc32(f"{salt}:{key}".encode()) % parts
        outcomes[floors[part].apply(event)] += 1
    merged, *others = floors
    for other in others:
        merged.merge(other)
    merged.finalize(end_ts=max(f.last_ts for f in floors))
    counts = EventCounts(
        lines=len(events),
        valid=len(events),
        invalid=0,
        duplicate=outcomes[Outcome.DUPLICATE],
        late=outcomes[Outcome.LATE],
    )
    assert_reports_equal(build_report(merged, counts), whole)
    assert effects(merged) == effects(whole_floor)


@PROPERTY
@given(log=floor_logs(), rnd=st.randoms(use_true_random=False))
def test_ticks_between_events_change_nothing(log: FloorLog, rnd: random.Random) -> None:
    events = log.interleave(rnd)
    plain = Floor(log.params)
    outcomes = [plain.apply(event) for event in events]
    end = plain.last_ts
    plain.finalize()

    # For each position, each agent's next applied event ts (the limit of a tick there).
    agents = sorted(
        {e.agent_id for e in events if isinstance(e, AgentStateChanged | AgentDisposition)}
    )
    limits: list[dict[str, int]] = [{} for _ in range(len(events) + 1)]
    upcoming: dict[str, int] = {}
    for i in range(len(events) - 1, -1, -1):
        event = events[i]
        if outcomes[i] is not Outcome.DUPLICATE and isinstance(
            event, AgentStateChanged | AgentDisposition
        ):
            upcoming[event.agent_id] = event.ts
        limits[i] = dict(upcoming)

    ticked = Floor(log.params)
    for i in range(len(events) + 1):
        for agent in agents:
            if rnd.random() < 0.4:
                track = ticked.agents.get(agent)
                low = track.clock if track is not None else 1
                high = min(limits[i].get(agent, end), end)
                if high > low:
                    ticked.tick(agent, rnd.choice((low + 1, high, rnd.randint(low, high))))
        if i < len(events):
            ticked.apply(events[i])
    ticked.finalize()

    assert_reports_equal(build_report(ticked, EventCounts()), build_report(plain, EventCounts()))
    assert effects(ticked) == effects(plain)


@PROPERTY
@given(log=floor_logs(), rnd=st.randoms(use_true_random=False))
def test_report_invariants(log: FloorLog, rnd: random.Random) -> None:
    report, floor = offline(log, log.interleave(rnd))
    events = report["events"]
    assert events["lines"] == events["valid"] == log.size
    assert events["duplicate"] + events["late"] <= events["valid"]
    opened = Counter(c.kind for c in floor.effects if c.closed_ts is None)
    openings = Counter(
        (c.agent_id, c.kind, c.opened_ts, c.team_id) for c in floor.effects if c.closed_ts is None
    )
    closings = Counter(
        (c.agent_id, c.kind, c.opened_ts, c.team_id)
        for c in floor.effects
        if c.closed_ts is not None and c.closed_ts >= c.opened_ts
    )
    assert sum(closings.values()) == sum(1 for c in floor.effects if c.closed_ts is not None)
    for key, n in closings.items():  # each closing closes one opening, once
        assert n == 1
        assert openings[key] == 1
    for kind in ("long_stretch", "high_occupancy", "rejection_streak", "long_shift"):
        assert sum(t["checkins"][kind] for t in report["teams"].values()) == opened[kind]
    for team in report["teams"].values():
        breaks = team["breaks"]
        assert breaks["seconds"] == team["state_seconds"]["paused"]
        assert breaks["count"] == sum(r["count"] for r in breaks["by_reason"].values())
        assert all(v >= 0 for v in team["state_seconds"].values())
        ratio = team["occupancy_ratio"]
        assert ratio is None or 0 <= ratio <= 1
    for campaign in report["campaigns"].values():
        assert campaign["abandoned"] == campaign["dropped"] + campaign["late_connected"]
        assert campaign["late_connected"] <= campaign["connected"]
        assert campaign["talked"] <= campaign["connected"]
        days = campaign["by_day"].values()
        assert sum(d["answered_human"] for d in days) == campaign["answered_human"]
        assert sum(d["abandoned"] for d in days) == campaign["abandoned"]
        assert sum(campaign["unanswered_by_outcome"].values()) == campaign["unanswered"]


@PROPERTY
@given(log=floor_logs(stragglers=False), rnd=st.randoms(use_true_random=False))
def test_engine_agrees_with_the_reference_model(log: FloorLog, rnd: random.Random) -> None:
    events = log.interleave(rnd)
    report, floor = offline(log, events)
    expected, expected_effects = Reference(log.params).run(events)
    assert_reports_equal(report, expected)
    assert effects(floor) == expected_effects
