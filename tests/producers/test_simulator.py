"""The simulated floor: valid, reproducible, ordered, coherent, and busy enough for the stats."""

from __future__ import annotations

import functools
import itertools
import random
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.emit import run_tag
from producers.floor import DEFAULT_START_MS, HOUR, MINUTE, FloorConfig
from producers.simulator import simulate
from streams.codec import decode, encode
from streams.codes import DEFAULT_CODES, canonical
from streams.events import (
    AgentDisposition,
    AgentState,
    AgentStateChanged,
    AnsweredBy,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallEvent,
    CallQueued,
    CallUnanswered,
    Event,
    type_name,
)

RECOVERY_MS = 300_000
STRETCH_MS = 90 * MINUTE


def run(seed: int = 1, **options: object) -> list[Event]:
    config = FloorConfig(**{"agents": 12, "teams": 3, "campaigns": 2, **options})  # type: ignore[arg-type]
    return list(simulate(config, random.Random(seed)))


@functools.cache
def shift() -> tuple[Event, ...]:
    """A full day of 40 people, team-01 skipping its breaks: shared by the slower tests."""
    return tuple(run(7, agents=40, teams=4, duration_ms=9 * HOUR, tired_teams=frozenset({1})))


def calls_of(events: Iterable[Event]) -> dict[str, list[CallEvent]]:
    calls: dict[str, list[CallEvent]] = defaultdict(list)
    for event in events:
        if not isinstance(event, AgentStateChanged | AgentDisposition):
            calls[event.call_id].append(event)
    return calls


def agents_of(events: Iterable[Event]) -> dict[str, list[AgentStateChanged | AgentDisposition]]:
    agents: dict[str, list[AgentStateChanged | AgentDisposition]] = defaultdict(list)
    for event in events:
        if isinstance(event, AgentStateChanged | AgentDisposition):
            agents[event.agent_id].append(event)
    return agents


floors: st.SearchStrategy[dict[str, int]] = st.fixed_dictionaries(
    {
        "seed": st.integers(0, 2**64),
        "agents": st.integers(1, 14),
        "teams": st.integers(1, 4),
        "campaigns": st.integers(1, 3),
        "duration_ms": st.integers(1, 3 * HOUR),
    }
).filter(lambda f: f["campaigns"] <= f["teams"] <= f["agents"])


@settings(max_examples=25, deadline=None)
@given(floor=floors)
def test_every_event_is_valid_under_the_contract_and_round_trips(floor: dict[str, int]) -> None:
    events = run(**floor)

    for event in events:
        assert decode(encode(event)) == event
    ids = [e.event_id for e in events]
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= 128 for i in ids)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**64))
def test_the_same_seed_gives_the_same_bytes(seed: int) -> None:
    first = [encode(e) for e in run(seed, duration_ms=2 * HOUR)]
    again = [encode(e) for e in run(seed, duration_ms=2 * HOUR)]

    assert first == again
    assert [encode(e) for e in run(seed + 1, duration_ms=2 * HOUR)] != first


@settings(max_examples=10, deadline=None)
@given(floor=floors)
def test_events_come_in_event_time_order(floor: dict[str, int]) -> None:
    events = run(**floor)
    start = DEFAULT_START_MS

    assert all(start <= e.ts <= start + floor["duration_ms"] for e in events)
    assert [e.ts for e in events] == sorted(e.ts for e in events)


def test_each_agent_and_each_call_is_in_time_order() -> None:
    timelines: list[Sequence[Event]] = [*agents_of(shift()).values()]
    timelines += calls_of(shift()).values()
    for timeline in timelines:
        stamps = [e.ts for e in timeline]
        assert stamps == sorted(stamps)


STORIES = (
    ("call.dialed", "call.unanswered", "call.ended"),
    ("call.dialed", "call.answered machine", "call.ended"),
    ("call.dialed", "call.answered human", "call.dropped", "call.ended"),
    ("call.dialed", "call.answered human", "call.connected", "call.ended"),
    # Dialers do not always report an answer by a person: the connect or the drop implies it.
    ("call.dialed", "call.dropped", "call.ended"),
    ("call.dialed", "call.connected", "call.ended"),
    # Callers in the blended campaign's queue (revision 1.1): no dialer event, ever. A caller who
    # hangs up while waiting is reported by `call.abandoned`, or by a `call.ended` alone.
    ("call.queued", "call.connected", "call.ended"),
    ("call.queued", "call.abandoned"),
    ("call.queued", "call.ended"),
)


def story(events: Sequence[CallEvent]) -> tuple[str, ...]:
    return tuple(
        f"call.answered {e.answered_by}" if isinstance(e, CallAnswered) else type_name(type(e))
        for e in events
    )


def test_each_call_tells_a_coherent_story() -> None:
    end = shift()[-1].ts
    for call_id, events in calls_of(shift()).items():
        told = story(events)
        # The window may end mid-call: then the story is a beginning of one of the known ones.
        assert any(told == s[: len(told)] for s in STORIES), (call_id, told)
        assert told in STORIES or events[-1].ts >= end - 15 * MINUTE, (call_id, told)
        assert len({e.campaign_id for e in events}) == 1


def test_connected_calls_and_agents_agree() -> None:
    on_call = {
        (e.agent_id, e.call_id, e.ts): e
        for e in shift()
        if isinstance(e, AgentStateChanged) and e.state is AgentState.ON_CALL
    }
    connects = [e for e in shift() if isinstance(e, CallConnected)]

    assert connects
    for connect in connects:
        state = on_call.pop((connect.agent_id, connect.call_id, connect.ts))
        assert state.team_id == connect.team_id
    assert not on_call


def test_each_agent_follows_the_call_cycle() -> None:
    for agent_id, timeline in agents_of(shift()).items():
        first = timeline[0]
        assert isinstance(first, AgentStateChanged) and first.state is AgentState.READY, agent_id
        state, call_id = AgentState.LOGGED_OUT, ""
        disposed = True
        for event in timeline:
            if isinstance(event, AgentDisposition):
                assert state is AgentState.WRAP_UP and event.call_id == call_id, agent_id
                disposed = True
                continue
            if event.state is AgentState.ON_CALL:
                assert state is AgentState.READY, agent_id
                assert isinstance(event.call_id, str)
                call_id, disposed = event.call_id, False
            elif event.state is AgentState.WRAP_UP:
                assert state is AgentState.ON_CALL, agent_id
            elif state is AgentState.WRAP_UP:
                assert disposed, f"{agent_id} left wrap-up before recording a disposition"
            state = event.state
        assert len({e.team_id for e in timeline}) == 1


def abandoned(events: Iterable[Event]) -> tuple[int, int, int]:
    """Of dialed calls: (dropped, connected more than 2 s after the person answered, answers
    implied). Callers from a queue have neither answers nor the two-second rule."""
    answered: dict[str, int] = {}
    inbound: set[str] = set()
    dropped = late = implied = 0
    for event in events:
        if isinstance(event, CallQueued):
            inbound.add(event.call_id)
        if isinstance(event, AgentStateChanged | AgentDisposition) or event.call_id in inbound:
            continue
        if isinstance(event, CallAnswered) and event.answered_by is AnsweredBy.HUMAN:
            answered.setdefault(event.call_id, event.ts)
        elif isinstance(event, CallDropped | CallConnected) and event.call_id not in answered:
            answered[event.call_id] = event.ts
            implied += 1
        if isinstance(event, CallDropped):
            dropped += 1
        elif isinstance(event, CallConnected) and event.ts - answered[event.call_id] > 2_000:
            late += 1
    return dropped, late, implied


def test_a_day_has_drops_late_connects_and_implied_answers_but_few() -> None:
    dropped, late, implied = abandoned(shift())
    reported = sum(
        isinstance(e, CallAnswered) and e.answered_by is AnsweredBy.HUMAN for e in shift()
    )

    assert dropped > 0
    assert late > 0
    assert 0 < implied < reported / 50
    # The dialers pace to keep abandoned calls near 3% of answered ones.
    assert (dropped + late) / (reported + implied) < 0.06


def longest_stretches(events: Iterable[Event]) -> dict[str, int]:
    """Per team, the longest time any of its agents worked without an off-phone period of 300 s."""
    longest: dict[str, int] = defaultdict(int)
    span_start: dict[str, int] = {}
    off_since: dict[str, int] = {}
    team: dict[str, str] = {}
    last_ts = 0
    for event in events:
        last_ts = event.ts
        if not isinstance(event, AgentStateChanged):
            continue
        agent = event.agent_id
        team[agent] = event.team_id
        working = event.state in (AgentState.READY, AgentState.ON_CALL, AgentState.WRAP_UP)
        if working and agent in off_since:
            off = off_since.pop(agent)
            if event.ts - off >= RECOVERY_MS:
                if agent in span_start:
                    stretch = off - span_start[agent]
                    longest[event.team_id] = max(longest[event.team_id], stretch)
                span_start[agent] = event.ts
        elif working:
            span_start.setdefault(agent, event.ts)
        elif agent not in off_since:
            off_since[agent] = event.ts
    for agent, started in span_start.items():
        if agent not in off_since:
            longest[team[agent]] = max(longest[team[agent]], last_ts - started)
    return longest


def test_the_tired_team_goes_over_90_minutes_without_a_real_break() -> None:
    stretches = longest_stretches(shift())

    assert stretches["team-01"] > STRETCH_MS
    assert stretches["team-01"] > max(v for k, v in stretches.items() if k != "team-01")


def test_without_a_tired_team_breaks_come_about_hourly() -> None:
    stretches = longest_stretches(run(7, agents=40, teams=4, duration_ms=9 * HOUR))

    assert max(stretches.values()) < 2 * HOUR


def test_dialer_spellings_normalise_to_every_known_code() -> None:
    outcomes = {e.outcome for e in shift() if isinstance(e, CallUnanswered)}
    reasons = {
        e.reason for e in shift() if isinstance(e, AgentStateChanged) and isinstance(e.reason, str)
    }

    assert {DEFAULT_CODES.outcome(o) for o in outcomes} == DEFAULT_CODES.unanswered_outcomes
    assert {"No Answer", "BUSY", "no-answer"} <= outcomes
    assert {"break", "lunch", "restroom"} <= {DEFAULT_CODES.reason(r) for r in reasons}
    assert any(r != canonical(r) for r in reasons)
    assert any(r != r.strip() for r in reasons)


def test_dispositions_have_every_class_and_a_run_of_rejections() -> None:
    classify = DEFAULT_CODES.disposition_class
    by_agent: dict[str, list[str]] = defaultdict(list)
    for e in shift():
        if isinstance(e, AgentDisposition):
            by_agent[e.agent_id].append(classify(e.disposition))
    codes = {canonical(e.disposition) for e in shift() if isinstance(e, AgentDisposition)}
    ended = [e for e in shift() if isinstance(e, CallEnded) and isinstance(e.disposition, str)]

    assert {c for cs in by_agent.values() for c in cs} == {"positive", "negative", "neutral"}
    assert {"abusive", "do_not_call", "sale", "callback"} <= codes
    assert ended

    def longest_rejection_run(classes: list[str]) -> int:
        run = best = 0
        for c in classes:
            run = 0 if c == "positive" else run + (c == "negative")
            best = max(best, run)
        return best

    assert max(longest_rejection_run(cs) for cs in by_agent.values()) >= 8


def test_people_log_in_and_out_across_a_shift() -> None:
    for agent_id, timeline in agents_of(shift()).items():
        states = [e.state for e in timeline if isinstance(e, AgentStateChanged)]
        assert states[0] is AgentState.READY, agent_id
    logouts = {
        e.agent_id
        for e in shift()
        if isinstance(e, AgentStateChanged) and e.state is AgentState.LOGGED_OUT
    }
    # Nine hours: everyone but those on overtime has logged out by the end.
    assert len(logouts) >= 30


def test_a_second_day_brings_everyone_back() -> None:
    events = run(3, agents=6, teams=2, duration_ms=34 * HOUR)

    for agent_id, timeline in agents_of(events).items():
        states = [e for e in timeline if isinstance(e, AgentStateChanged)]
        returns = [
            later.ts - earlier.ts
            for earlier, later in itertools.pairwise(states)
            if earlier.state is AgentState.LOGGED_OUT and later.state is AgentState.READY
        ]
        assert any(gap > 12 * HOUR for gap in returns), agent_id


def test_ids_carry_the_source_and_a_tag_of_the_start() -> None:
    events = run(source="trial-7", start_ms=DEFAULT_START_MS + 1, duration_ms=HOUR)
    tag = run_tag(DEFAULT_START_MS + 1)

    assert {e.source for e in events} == {"trial-7"}
    assert all(e.event_id.startswith(f"trial-7-{tag}-") for e in events)
    dialed = [e.call_id for e in events if isinstance(e, CallDialed)]
    assert len(set(dialed)) == len(dialed)
    assert all(c.startswith(f"trial-7-{tag}-") for c in dialed)


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"agents": 0}, "--agents"),
        ({"agents": 3, "teams": 4}, "--teams"),
        ({"teams": 2, "campaigns": 3}, "--campaigns"),
        ({"duration_ms": 0}, "--duration"),
        ({"start_ms": 2**53}, "--start"),
        ({"source": ""}, "--source"),
        ({"teams": 4, "tired_teams": frozenset({5})}, "--tired-team"),
    ],
)
def test_a_bad_option_says_which(options: dict[str, object], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        FloorConfig(**options)  # type: ignore[arg-type]


# The command, run in-process as `floorpulse simulate`.


def simulate_command(*args: str) -> int:
    from streams.cli import main

    return main(["simulate", *args])


def test_the_command_writes_the_same_file_for_the_same_seed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, again = tmp_path / "a.jsonl", tmp_path / "b.jsonl.gz"

    assert simulate_command("--duration", "30m", "--seed", "5", "--out", str(first)) == 0
    summary = capsys.readouterr().err
    assert simulate_command("--duration", "30m", "--seed", "5", "--out", str(again)) == 0

    import gzip

    assert first.read_bytes() == gzip.decompress(again.read_bytes())
    lines = first.read_bytes().splitlines()
    assert summary.count("\n") == 1
    assert f"{len(lines):,} events" in summary
    assert "2026-01-05T08:00:00Z" in summary
    assert all(decode(line) for line in lines)


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["--duration", "soon"], "8h, 90m"),
        (["--speed", "0"], "positive number or `max`"),
        (["--start", "1767600000"], "milliseconds"),
        (["--agents", "two"], "whole number"),
        (["--tired-team", "blue"], "team-03"),
        (["--blended", "blue"], "campaign-02 or 2"),
        (["--inbound-only", "campaign-"], "campaign-02 or 2"),
        (["--inbound-rate", "0"], "positive number of callers an hour"),
        (["--inbound-rate", "nan"], "positive number of callers an hour"),
    ],
)
def test_bad_values_say_what_to_fix(
    args: list[str], fix: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        simulate_command(*args, "--out", "-")
    assert exit_.value.code == 2
    assert fix in capsys.readouterr().err


def test_inconsistent_sizes_fail_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.jsonl"

    assert simulate_command("--agents", "3", "--teams", "5", "--out", str(out)) == 2
    assert "--teams" in capsys.readouterr().err
    assert not out.exists()
