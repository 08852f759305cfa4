"""`analyze --jobs N` folds a log in N processes and gives what one process gives, to the byte:
the same report, the same counts of invalid lines and duplicates, the same warnings."""

from __future__ import annotations

import io
import os
import random
import signal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from streams.analyze import Reading, fold_lines, pacing
from streams.analyze_jobs import JobFailed, _Router, fold_in_jobs
from streams.codec import encode
from streams.engine import DEFAULT_PARAMS, Floor, build_report
from streams.events import AgentDisposition, AgentState, AgentStateChanged, Event
from tests.engine.logs import FloorLog, floor_logs, partition_key
from tests.strategies import mutated_bytes, mutated_objects

Outcome = tuple[dict[str, Any], Any, int, str | None, list[tuple[int, int]]]


def outcome(floor: Floor, counts: Any, reading: Reading) -> Outcome:
    floor.finalize()
    report = build_report(floor, counts)
    return report, pacing(floor), reading.lines, reading.stopped, reading.far_ahead()


def in_one(log: bytes) -> Outcome:
    reading = Reading()
    return outcome(*fold_lines(io.BytesIO(log), DEFAULT_PARAMS, reading), reading)


def in_jobs(pieces: list[bytes], jobs: int, chunk_bytes: int) -> Outcome:
    reading = Reading()
    floor, counts = fold_in_jobs(pieces, DEFAULT_PARAMS, reading, jobs, chunk_bytes)
    return outcome(floor, counts, reading)


def retyped(event: Event) -> bytes:
    """The event's JSON with a first `type` that another one later overrides: valid (the last
    value counts), though it cannot be routed by its type alone."""
    agent = isinstance(event, AgentStateChanged | AgentDisposition)
    other = "call.dialed" if agent else "agent.state"
    return b'{"type":"' + other.encode() + b'",' + encode(event)[1:]


def stolen(event: Event, victim: Event) -> bytes:
    """The event with another event's id (a duplicate of it whatever its own content)."""
    return encode(event).replace(event.event_id.encode(), victim.event_id.encode(), 1)


@st.composite
def noisy_logs(draw: st.DrawFn) -> bytes:
    """A floor's log with, here and there, invalid and blank lines, events that repeat the id
    of an event of another agent or campaign (before or after it), invalid lines with the id of
    a valid event, lines that repeat `type`, and events stamped years after the others."""
    log: FloorLog = draw(floor_logs())
    events = log.interleave(draw(st.randoms(use_true_random=False)))
    lines = [encode(event) for event in events]
    extra = draw(st.integers(0, 12)) if events else 0
    for _ in range(extra):
        at = draw(st.integers(0, len(lines)))
        kind = draw(st.sampled_from(["invalid", "blank", "stolen", "bad-id", "retyped", "far"]))
        event, victim = draw(st.sampled_from(events)), draw(st.sampled_from(events))
        if kind == "invalid":
            line = draw(mutated_objects() | mutated_bytes())
        elif kind == "blank":
            line = draw(st.sampled_from([b"", b"  ", b"\r", b" \t "]))
        elif kind == "stolen" and partition_key(event) != partition_key(victim):
            line = stolen(event, victim)
        elif kind == "bad-id":
            line = stolen(event, victim).replace(b'"ts":', b'"ts":-', 1)
        elif kind == "retyped":
            line = retyped(event)
        else:
            line = encode(event).replace(b'"ts":', b'"ts":9', 1)
        lines.insert(at, line)
    ending = draw(st.sampled_from([b"\n", b""]))
    return b"\n".join(lines) + (ending if lines else b"")


def pieces_of(log: bytes, rnd: random.Random) -> list[bytes]:
    cuts = sorted(rnd.sample(range(len(log) + 1), min(len(log) + 1, rnd.randint(0, 6))))
    return [log[a:b] for a, b in zip([0, *cuts], [*cuts, len(log)], strict=True)]


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    log=noisy_logs(),
    jobs=st.integers(2, 4),
    chunk_bytes=st.sampled_from([1, 300, 1 << 18]),
    rnd=st.randoms(use_true_random=False),
)
def test_any_number_of_processes_gives_what_one_gives(
    log: bytes, jobs: int, chunk_bytes: int, rnd: random.Random
) -> None:
    assert in_jobs(pieces_of(log, rnd), jobs, chunk_bytes) == in_one(log)


def test_a_duplicate_of_an_event_another_process_applied_is_counted_once() -> None:
    first, second = (
        AgentStateChanged(
            v=1,
            event_id=f"e{n}",
            ts=1_767_600_000_000 + n,
            source="t",
            agent_id=f"agent-{n}",
            team_id="t1",
            campaign_id="c1",
            state=AgentState.READY,
        )
        for n in (1, 2)
    )
    # agent-1 and agent-2 go to different processes; the last line repeats agent-1's id.
    log = b"\n".join([encode(first), encode(second), stolen(second, first), b""])
    one, two = in_one(log), in_jobs([log], 2, 1)
    assert one[0]["events"] == {"lines": 3, "valid": 3, "invalid": 0, "duplicate": 1, "late": 0}
    assert two == one


def test_a_process_that_dies_is_one_clear_error() -> None:
    router = _Router(DEFAULT_PARAMS, 2)
    try:
        victim = router.jobs[1].process
        assert victim.pid is not None
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(timeout=30)
        with pytest.raises(JobFailed, match="killed by signal 9"):
            for n in range(2):  # one agent for each process
                event = AgentStateChanged(
                    v=1,
                    event_id=f"e{n}",
                    ts=1,
                    source="t",
                    agent_id=f"a{n}",
                    team_id="t",
                    campaign_id="c",
                    state=AgentState.READY,
                )
                router.route(encode(event) + b"\n", n)
            router.finish()
    finally:
        router.stop()
