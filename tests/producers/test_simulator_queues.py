"""The simulated floor's inbound queues (contract revision 1.1): callers arrive at the rate asked
for, hang up when their patience runs out, are taken before the dialer's next call, and never
carry a dialer's event; the understaffed-queue preset shows in the service level."""

from __future__ import annotations

import functools
import itertools
import math
import random
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from producers.dialer import CampaignDialer
from producers.floor import DEFAULT_START_MS, HOUR, SECOND, UNDERSTAFFED_FROM, FloorConfig
from producers.inbound import (
    HOURLY_LOAD,
    MAX_WAIT_MS,
    PER_PERSON_BLENDED,
    PER_PERSON_INBOUND_ONLY,
    PICK_UP_MS,
    InboundQueue,
)
from producers.simulator import IN_TRAINING, simulate
from streams.codec import decode, encode
from streams.codes import canonical
from streams.events import (
    AgentDisposition,
    AgentState,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallEvent,
    CallQueued,
    CallUnanswered,
    Event,
)
from tests.producers.test_simulator import agents_of, calls_of, story

START = DEFAULT_START_MS
SERVICE_LEVEL_MS = 20_000
SHORT_ABANDON_MS = 5_000
DIALER_EVENTS = (CallDialed, CallAnswered, CallUnanswered, CallDropped)


def run(seed: int = 1, **options: object) -> list[Event]:
    config = FloorConfig(**{"agents": 20, "teams": 2, "campaigns": 2, **options})  # type: ignore[arg-type]
    return list(simulate(config, random.Random(seed)))


def inbound_calls(events: Iterable[Event]) -> dict[str, list[CallEvent]]:
    """Every call whose first event is `call.queued`, with its events in order."""
    return {c: es for c, es in calls_of(events).items() if isinstance(es[0], CallQueued)}


class Outcome(NamedTuple):
    campaign_id: str
    queued_ts: int
    answered: bool | None
    """None: still waiting at the end."""
    wait_ms: int


def outcomes(events: Iterable[Event]) -> list[Outcome]:
    """Each inbound call's outcome as stats.md defines it."""
    found = []
    for calls in inbound_calls(events).values():
        queued = calls[0]
        decided = next(
            (e for e in calls if isinstance(e, CallConnected | CallAbandoned | CallEnded)), None
        )
        answered = None if decided is None else isinstance(decided, CallConnected)
        wait = 0 if decided is None else decided.ts - queued.ts
        found.append(Outcome(queued.campaign_id, queued.ts, answered, wait))
    return found


def service_level(found: Iterable[Outcome]) -> float:
    """Answered within 20 s, over answered and abandoned (short abandons left out)."""
    counted = [
        o for o in found if o.answered or (o.answered is False and o.wait_ms >= SHORT_ABANDON_MS)
    ]
    within = [o for o in counted if o.answered and o.wait_ms <= SERVICE_LEVEL_MS]
    return len(within) / len(counted)


def arrivals_by_hour(events: Iterable[Event], campaign: str) -> Counter[int]:
    return Counter(
        (e.ts - START) // HOUR
        for e in events
        if isinstance(e, CallQueued) and e.campaign_id == campaign
    )


def within_poisson_bounds(count: int, mean: float) -> bool:
    """Four standard deviations of a Poisson count: a seeded run is fixed, so no flakiness."""
    return abs(count - mean) <= 4 * math.sqrt(mean) + 1


# Arrivals.


@pytest.mark.parametrize("rate", [60.0, 240.0])
def test_callers_arrive_at_the_configured_rate_following_the_hour_of_the_day(rate: float) -> None:
    events = run(
        4,
        blended=frozenset(),
        inbound_only=frozenset({2}),
        inbound_rate=rate,
        duration_ms=24 * HOUR,
    )
    by_hour = arrivals_by_hour(events, "campaign-02")

    for hour in range(24):
        expected = rate * (HOURLY_LOAD[hour] if hour < len(HOURLY_LOAD) else 0.0)
        assert within_poisson_bounds(by_hour[hour], expected), (hour, by_hour[hour], expected)
    assert sum(by_hour.values()) > 0.9 * rate * sum(HOURLY_LOAD)
    assert by_hour[2] > by_hour[0] and by_hour[2] > by_hour[4]  # a busy morning, a quieter lunch
    assert not arrivals_by_hour(events, "campaign-01")  # no queue there


def test_the_next_day_brings_callers_again() -> None:
    events = run(
        2, blended=frozenset(), inbound_only=frozenset({1}), inbound_rate=90, duration_ms=27 * HOUR
    )
    by_hour = arrivals_by_hour(events, "campaign-01")

    assert not any(by_hour[h] for h in range(len(HOURLY_LOAD), 24))
    for hour in (24, 25, 26):
        assert within_poisson_bounds(by_hour[hour], 90 * HOURLY_LOAD[hour - 24]), hour


def test_without_a_rate_each_queue_is_sized_to_its_people() -> None:
    # 24 people on two campaigns: 12 each. campaign-01 blended, campaign-02 inbound-only.
    events = run(
        6,
        agents=24,
        blended=frozenset({1}),
        inbound_only=frozenset({2}),
        duration_ms=len(HOURLY_LOAD) * HOUR,
    )
    day = sum(HOURLY_LOAD)

    for campaign, per_person in (
        ("campaign-01", PER_PERSON_BLENDED),
        ("campaign-02", PER_PERSON_INBOUND_ONLY),
    ):
        count = sum(arrivals_by_hour(events, campaign).values())
        assert within_poisson_bounds(count, 12 * per_person * day), (campaign, count)


# Patience.


def test_patience_is_a_minute_or_two_for_most_and_seconds_for_a_few() -> None:
    queue = InboundQueue(
        CampaignDialer("c", random.Random(0), START), [], 60.0, random.Random(9), START
    )
    draws = [queue.patience() for _ in range(20_000)]

    short = sum(d < SHORT_ABANDON_MS for d in draws) / len(draws)
    assert 0.04 < short < 0.06
    assert 55 * SECOND < statistics.median(draws) < 65 * SECOND
    assert 70 * SECOND < statistics.fmean(draws) < 95 * SECOND
    assert min(draws) >= SECOND and max(draws) == MAX_WAIT_MS


@functools.cache
def swamped() -> tuple[Event, ...]:
    """Two people for 600 callers an hour: almost every caller waits until they give up."""
    return tuple(
        run(
            3,
            agents=2,
            teams=1,
            campaigns=1,
            blended=frozenset(),
            inbound_only=frozenset({1}),
            inbound_rate=600,
            duration_ms=4 * HOUR,
        )
    )


def test_callers_hang_up_when_their_patience_runs_out() -> None:
    found = outcomes(swamped())
    abandoned = [o.wait_ms for o in found if o.answered is False]

    assert len(abandoned) > 0.9 * len(found) > 1_000
    # The waits of those who hung up are their patience: short ones among them, most a minute
    # or two, none past the queue's ten minutes (patience is drawn up to that: test above).
    assert 0.03 < sum(w < SHORT_ABANDON_MS for w in abandoned) / len(abandoned) < 0.08
    assert 45 * SECOND < statistics.median(abandoned) < 65 * SECOND
    assert 3 * 60 * SECOND < max(abandoned) <= MAX_WAIT_MS
    # A few are reported by the queue as a `call.ended` alone.
    ends = [
        calls
        for calls in inbound_calls(swamped()).values()
        if story(calls) == ("call.queued", "call.ended")
    ]
    assert 0.05 * len(abandoned) < len(ends) < 0.25 * len(abandoned)


# Routing.


@functools.cache
def understaffed_day() -> tuple[Event, ...]:
    return tuple(run(5, agents=40, teams=4, duration_ms=9 * HOUR, understaffed=2))


def callers_first(events: Sequence[Event]) -> int:
    """Whenever someone of a queue's campaign gets ready while a caller surely waits (queued
    before, neither taken nor gone by then), their next call is a caller of that queue, queued no
    later than any of those who wait. Returns how many times that was checked."""
    queued = {c: es[0].ts for c, es in inbound_calls(events).items()}
    campaigns = {c: es[0].campaign_id for c, es in inbound_calls(events).items()}
    latest_pick_up = PICK_UP_MS[1]
    waiting_until: dict[str, int] = {}
    """When each caller surely stopped waiting: taken no earlier than connect - pick-up time."""
    for call_id, calls in inbound_calls(events).items():
        decided = next((e for e in calls if not isinstance(e, CallQueued)), None)
        if decided is None:
            waiting_until[call_id] = events[-1].ts + 1
        elif isinstance(decided, CallConnected):
            waiting_until[call_id] = decided.ts - latest_pick_up
        else:
            waiting_until[call_id] = decided.ts

    checked = 0
    for timeline in agents_of(events).values():
        states = [e for e in timeline if isinstance(e, AgentStateChanged)]
        for ready, following in itertools.pairwise(states):
            if ready.state is not AgentState.READY:
                continue
            t = ready.ts
            waiting = [
                queued[c]
                for c, until in waiting_until.items()
                if campaigns[c] == ready.campaign_id and queued[c] < t < until
            ]
            if not waiting:
                continue
            checked += 1
            assert following.state is AgentState.ON_CALL, ready
            assert following.call_id in queued, ready
            assert following.ts - t <= latest_pick_up
            assert queued[following.call_id] <= min(waiting)
    return checked


def test_a_free_agent_takes_the_longest_waiting_caller_before_any_dialer_call() -> None:
    busy_blended = run(5, blended=frozenset({2}), inbound_rate=150, duration_ms=6 * HOUR)

    assert callers_first(busy_blended) > 100
    assert callers_first(swamped()) > 40


def test_blended_agents_take_callers_between_dialer_calls() -> None:
    events = understaffed_day()
    inbound = set(inbound_calls(events))
    kinds: dict[str, str] = {}
    for agent_id, timeline in agents_of(events).items():
        kinds[agent_id] = "".join(
            ("i" if e.call_id in inbound else "o")
            for e in timeline
            if isinstance(e, AgentStateChanged) and e.state is AgentState.ON_CALL
        )
    teams = {e.agent_id: e.team_id for e in events if isinstance(e, AgentStateChanged)}
    blended = [k for a, k in kinds.items() if teams[a] in ("team-02", "team-04")]
    dialing_only = [k for a, k in kinds.items() if teams[a] in ("team-01", "team-03")]

    assert all("oio" in k for k in blended), blended
    assert dialing_only and all(set(k) == {"o"} for k in dialing_only)


def test_an_inbound_only_campaign_never_dials() -> None:
    events = run(8, blended=frozenset(), inbound_only=frozenset({2}), duration_ms=6 * HOUR)
    calls = calls_of(events)

    assert {es[0].campaign_id for es in calls.values() if isinstance(es[0], CallDialed)} == {
        "campaign-01"
    }
    assert any(isinstance(es[0], CallQueued) for es in calls.values())
    on_call = [
        e for e in events if isinstance(e, AgentStateChanged) and e.state is AgentState.ON_CALL
    ]
    assert {e.campaign_id for e in on_call} == {"campaign-01", "campaign-02"}
    assert all(
        isinstance(calls[str(e.call_id)][0], CallQueued)
        for e in on_call
        if e.campaign_id == "campaign-02"
    )


INBOUND_STORIES = (
    ("call.queued", "call.connected", "call.ended"),
    ("call.queued", "call.abandoned"),
    ("call.queued", "call.ended"),
)


def check_inbound_calls(events: Sequence[Event]) -> int:
    """Each inbound call tells an inbound story (one still going at the end, a beginning of one)
    with no dialer event, in its campaign, connected to an agent who goes on the call at that
    moment and records a disposition for it. Returns how many there are."""
    on_call = {
        (e.agent_id, e.call_id, e.ts)
        for e in events
        if isinstance(e, AgentStateChanged) and e.state is AgentState.ON_CALL
    }
    dispositions = {(e.agent_id, e.call_id) for e in events if isinstance(e, AgentDisposition)}
    team_campaign = {e.team_id: e.campaign_id for e in events if isinstance(e, AgentStateChanged)}
    end = events[-1].ts if events else 0
    calls = inbound_calls(events)
    for call_id, calls_events in calls.items():
        told = story(calls_events)
        assert any(told == s[: len(told)] for s in INBOUND_STORIES), (call_id, told)
        assert not any(isinstance(e, DIALER_EVENTS) for e in calls_events)
        assert len({e.campaign_id for e in calls_events}) == 1
        for e in calls_events:
            if isinstance(e, CallConnected):
                assert (e.agent_id, call_id, e.ts) in on_call
                assert team_campaign[e.team_id] == e.campaign_id
                if told in INBOUND_STORIES and calls_events[-1].ts < end - 5 * 60 * SECOND:
                    assert (e.agent_id, call_id) in dispositions
    return len(calls)


def test_inbound_calls_carry_no_dialer_events_and_follow_the_talk_cycle() -> None:
    assert check_inbound_calls(understaffed_day()) > 150
    assert check_inbound_calls(swamped()) > 1_000


@st.composite
def queue_floors(draw: st.DrawFn) -> tuple[int, FloorConfig]:
    """A seed and a small floor whose campaigns each dial, blend, or only take callers."""
    agents = draw(st.integers(1, 14))
    teams = draw(st.integers(1, min(4, agents)))
    campaigns = draw(st.integers(1, min(3, teams)))
    duration = draw(st.integers(1, 4 * HOUR))
    modes = draw(
        st.lists(
            st.sampled_from(("outbound", "blended", "inbound")),
            min_size=campaigns,
            max_size=campaigns,
        )
    )
    blended = frozenset(n for n, mode in enumerate(modes, 1) if mode == "blended")
    inbound_only = frozenset(n for n, mode in enumerate(modes, 1) if mode == "inbound")
    queues = blended | inbound_only
    rate = draw(st.none() | st.floats(1, 2_000)) if queues else None
    understaffed = None
    if queues and duration > UNDERSTAFFED_FROM and draw(st.booleans()):
        understaffed = min(queues)
    config = FloorConfig(
        agents=agents,
        teams=teams,
        campaigns=campaigns,
        duration_ms=duration,
        blended=blended,
        inbound_only=inbound_only,
        inbound_rate=rate,
        understaffed=understaffed,
    )
    return draw(st.integers(0, 2**64)), config


@settings(max_examples=25, deadline=None)
@given(floor=queue_floors())
def test_every_floor_with_queues_is_valid_ordered_and_keeps_dialers_off_inbound_calls(
    floor: tuple[int, FloorConfig],
) -> None:
    seed, config = floor
    events = list(simulate(config, random.Random(seed)))

    for event in events:
        assert decode(encode(event)) == event
    ids = [e.event_id for e in events]
    assert len(set(ids)) == len(ids)
    stamps = [e.ts for e in events]
    assert stamps == sorted(stamps)
    assert all(START <= t <= START + config.duration_ms for t in stamps)
    check_inbound_calls(events)
    queues = {f"campaign-{n:02d}" for n in config.queues()}
    assert {e.campaign_id for e in events if isinstance(e, CallQueued)} <= queues
    dialing = {f"campaign-{n:02d}" for n, blended in config.queues().items() if not blended}
    assert not {e.campaign_id for e in events if isinstance(e, CallDialed)} & dialing


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**64))
def test_the_same_seed_gives_the_same_queues(seed: int) -> None:
    options = {
        "blended": frozenset({1}),
        "inbound_only": frozenset({2}),
        "understaffed": 2,
        "duration_ms": 3 * HOUR + 30 * 60 * SECOND,
    }
    first = [encode(e) for e in run(seed, **options)]

    assert [encode(e) for e in run(seed, **options)] == first
    assert [encode(e) for e in run(seed + 1, **options)] != first
    assert any(b'"call.queued"' in line for line in first)


# The understaffed hour.


def test_the_understaffed_preset_lowers_the_service_level_in_its_hour() -> None:
    standard = run(5, agents=40, teams=4, duration_ms=9 * HOUR)
    understaffed = understaffed_day()
    hour_from, hour_to = START + UNDERSTAFFED_FROM, START + UNDERSTAFFED_FROM + HOUR

    def in_the_hour(events: Iterable[Event]) -> list[Outcome]:
        return [o for o in outcomes(events) if hour_from <= o.queued_ts < hour_to]

    # Nothing differs before the session: the same seed, the same floor until then.
    assert [e for e in standard if e.ts < hour_from] == [
        e for e in understaffed if e.ts < hour_from
    ]
    assert service_level(in_the_hour(standard)) > 0.85
    assert service_level(in_the_hour(understaffed)) < 0.6
    later = [o for o in outcomes(understaffed) if o.queued_ts >= hour_to + HOUR]
    assert service_level(later) > 0.8  # and it recovers


def test_in_the_understaffed_hour_most_of_the_queues_people_are_in_training() -> None:
    events = understaffed_day()
    half_way = START + UNDERSTAFFED_FROM + HOUR // 2
    latest: dict[str, AgentStateChanged] = {}
    for event in events:
        if event.ts > half_way:
            break
        if isinstance(event, AgentStateChanged):
            latest[event.agent_id] = event
    queue_people = [e for e in latest.values() if e.campaign_id == "campaign-02"]
    present = [e for e in queue_people if e.state is not AgentState.LOGGED_OUT]
    training = [
        e for e in present if isinstance(e.reason, str) and canonical(e.reason) == "training"
    ]
    others = [e for e in latest.values() if e.campaign_id == "campaign-01"]

    assert len(training) >= 0.6 * len(present) > 0
    assert not any(isinstance(e.reason, str) and canonical(e.reason) == "training" for e in others)
    # The session ends with the hour: nobody is still in it a few minutes later.
    after: dict[str, AgentStateChanged] = {}
    for event in events:
        if event.ts > START + UNDERSTAFFED_FROM + HOUR + 5 * 60 * SECOND:
            break
        if isinstance(event, AgentStateChanged):
            after[event.agent_id] = event
    assert not any(
        isinstance(e.reason, str) and canonical(e.reason) == "training"
        for e in after.values()
        if e.agent_id in {p.agent_id for p in training}
    )


@pytest.mark.parametrize(
    ("options", "names"),
    [
        ({"campaigns": 2, "blended": frozenset({3})}, "--blended campaign-03"),
        ({"campaigns": 2, "inbound_only": frozenset({0})}, "--inbound-only campaign-00"),
        (
            {"blended": frozenset({1}), "inbound_only": frozenset({1})},
            "both --blended and --inbound-only",
        ),
        ({"inbound_rate": 0.0}, "--inbound-rate"),
        ({"blended": frozenset(), "inbound_rate": 60.0}, "--inbound-rate needs a queue"),
        ({"blended": frozenset(), "understaffed": 1}, "understaffed-queue needs an inbound queue"),
        ({"understaffed": 2, "duration_ms": HOUR}, "understaffed-queue needs a --duration"),
    ],
)
def test_a_bad_queue_option_says_which(options: dict[str, object], names: str) -> None:
    with pytest.raises(ValueError, match=names):
        FloorConfig(**{"teams": 2, "campaigns": 2, **options})  # type: ignore[arg-type]


def test_the_last_campaign_is_blended_unless_queues_are_chosen() -> None:
    assert FloorConfig(teams=3, campaigns=3).queues() == {3: True}
    assert FloorConfig(teams=3, campaigns=3, inbound_only=frozenset({1})).queues() == {1: False}
    assert FloorConfig(teams=3, campaigns=3, blended=frozenset()).queues() == {}
    assert FloorConfig(
        teams=3, campaigns=3, blended=frozenset({2}), inbound_only=frozenset({1})
    ).queues() == {1: False, 2: True}


# The command.


def simulate_command(*args: str) -> int:
    from streams.cli import main

    return main(["simulate", *args])


def events_of(path: Path) -> list[Event]:
    return [decode(line) for line in path.read_bytes().splitlines()]


def queues_in(events: Iterable[Event]) -> dict[str, set[str]]:
    """Per campaign, which kinds of calls it has: `queued` and `dialed`."""
    kinds: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if isinstance(e, CallQueued):
            kinds[e.campaign_id].add("queued")
        elif isinstance(e, CallDialed):
            kinds[e.campaign_id].add("dialed")
    return kinds


@pytest.mark.parametrize(
    ("args", "kinds"),
    [
        ([], {"campaign-01": {"dialed"}, "campaign-02": {"dialed", "queued"}}),
        (["--outbound-only"], {"campaign-01": {"dialed"}, "campaign-02": {"dialed"}}),
        (
            ["--blended", "campaign-01", "--inbound-only", "2"],
            {"campaign-01": {"dialed", "queued"}, "campaign-02": {"queued"}},
        ),
        (["--inbound-only", "2"], {"campaign-01": {"dialed"}, "campaign-02": {"queued"}}),
    ],
)
def test_the_command_sets_up_the_queues_asked_for(
    args: list[str], kinds: dict[str, set[str]], tmp_path: Path
) -> None:
    out = tmp_path / "floor.jsonl"

    assert simulate_command("--agents", "12", "--duration", "1h", *args, "--out", str(out)) == 0
    assert queues_in(events_of(out)) == kinds


def test_the_command_takes_a_rate_and_the_understaffed_preset(tmp_path: Path) -> None:
    calm, busy, short = tmp_path / "calm.jsonl", tmp_path / "busy.jsonl", tmp_path / "short.jsonl"
    common = ["--agents", "20", "--teams", "2", "--duration", "4h", "--seed", "3"]

    assert simulate_command(*common, "--inbound-rate", "30", "--out", str(calm)) == 0
    assert simulate_command(*common, "--inbound-rate", "90", "--out", str(busy)) == 0
    assert simulate_command(*common, "--preset", "understaffed-queue", "--out", str(short)) == 0

    def queued(path: Path) -> int:
        return sum(isinstance(e, CallQueued) for e in events_of(path))

    expected = sum(HOURLY_LOAD[:4])
    assert within_poisson_bounds(queued(calm), 30 * expected)
    assert within_poisson_bounds(queued(busy), 90 * expected)
    training = {
        e.agent_id
        for e in events_of(short)
        if isinstance(e, AgentStateChanged)
        and isinstance(e.reason, str)
        and canonical(e.reason) == "training"
        and START + UNDERSTAFFED_FROM <= e.ts < START + UNDERSTAFFED_FROM + HOUR
    }
    assert len(training) >= 5  # of team-02's ten, on campaign-02's queue


@pytest.mark.parametrize(
    ("args", "fix"),
    [
        (["--outbound-only", "--blended", "1"], "--outbound-only leaves out every queue"),
        (["--blended", "3"], "--blended campaign-03 is not one of the 2 campaigns"),
        (["--blended", "2", "--inbound-only", "2"], "choose one"),
        (["--outbound-only", "--inbound-rate", "60"], "--inbound-rate needs a queue"),
        (["--outbound-only", "--preset", "understaffed-queue"], "needs an inbound queue"),
        (["--preset", "understaffed-queue", "--duration", "90m"], "--duration over 2h"),
    ],
)
def test_inconsistent_queue_options_fail_before_writing(
    args: list[str], fix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.jsonl"

    assert simulate_command(*args, "--out", str(out)) == 2
    assert fix in capsys.readouterr().err
    assert not out.exists()


def test_the_help_names_the_queue_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        simulate_command("--help")
    text = " ".join(capsys.readouterr().out.split())

    for option in (
        "--blended CAMPAIGN",
        "--inbound-only CAMPAIGN",
        "--outbound-only",
        "--inbound-rate CALLS",
    ):
        assert option in text
    # The help is kept free of imports: its figures must be the simulator's.
    hours = UNDERSTAFFED_FROM // HOUR
    assert f"each day from {hours} to {hours + 1} hours after the start" in text
    assert "four in five of the people" in text and IN_TRAINING == 0.8
    assert (
        f"default: {PER_PERSON_BLENDED:g} per person working a blended campaign, "
        f"{PER_PERSON_INBOUND_ONLY:g} per person on an inbound-only one"
    ) in text
    assert "the last campaign is blended" in text
