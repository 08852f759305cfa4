"""Hostile input through a running worker: 100,000 messages, random and mutated, up to 2 MB.

The worker must never stop; every invalid message is dead-lettered once (no restart happens
here, so once exactly), with its own id; the valid events among them give exactly the offline
report of those events. Everything is seeded, so a failure is reproduced by running it again.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import msgspec
import pytest

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from streams.analyze import analyze
from streams.codec import InvalidEvent, decode, encode
from streams.events import AgentState, AgentStateChanged
from streams.localkafka import free_ports
from streams.topics import DEAD_LETTER
from tests.integration.live import WorkerProcess, consume, route_line, stop_all
from tests.integration.test_worker import assert_matches_report, until_applied

pytestmark = pytest.mark.kafka

MESSAGES = 100_000
LARGE = 12
"""Messages of 100 KB to 2 MB among them."""


def valid_lines(count: int) -> list[bytes]:
    """A simulated floor cut at `count` events, then everyone logged out, and two hours later
    still: every interval closed and every pending decision (is a pause a recovery?) decided by
    each person's own time, so that live counters equal the report (metrics.md)."""
    config = FloorConfig(agents=60, teams=6, campaigns=3, duration_ms=10 * HOUR)
    events = list(itertools.islice(simulate(config, random.Random(11)), count))
    last: dict[str, AgentStateChanged] = {}
    for event in events:
        if isinstance(event, AgentStateChanged):
            last[event.agent_id] = event
    end = events[-1].ts + 1000
    for n, later in enumerate((0, 2 * HOUR)):
        for agent_id, event in sorted(last.items()):
            events.append(
                msgspec.structs.replace(
                    event,
                    event_id=f"fuzz-end-{n}-{agent_id}",
                    ts=end + later,
                    state=AgentState.LOGGED_OUT,
                    reason=msgspec.UNSET,
                    call_id=msgspec.UNSET,
                )
            )
    return [encode(event) for event in events]


def is_valid(data: bytes) -> bool:
    try:
        decode(data)
    except InvalidEvent:
        return False
    return True


def mutated(line: bytes, rng: random.Random) -> bytes:
    """A broken copy of a valid line: flipped bytes, cut short, a field of the wrong type, a
    duplicated key with a bad value, nesting, control characters."""
    kind = rng.randrange(6)
    if kind == 0:
        data = bytearray(line)
        for _ in range(rng.randint(1, 4)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        return bytes(data)
    if kind == 1:
        return line[: rng.randrange(len(line))]
    obj = json.loads(line)
    field = rng.choice(sorted(obj))
    if kind == 2:
        obj[field] = rng.choice([None, 1.5, True, [], {}, "", "x" * 129, -1, 2**53, "\u0000"])
        return json.dumps(obj).encode()
    if kind == 3:
        return line[:-1] + b', "v": 2}'
    if kind == 4:
        return line[:-1] + b', "deep": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    return line.replace(b'"', b'"\x01', rng.randint(1, 3))


def noise(rng: random.Random, size: int) -> bytes:
    if rng.random() < 0.5:
        return rng.randbytes(size)
    return bytes(rng.choices(b'{}[]:,"0a \x01\\', k=size))


def messages(rng: random.Random) -> tuple[list[bytes], list[bytes]]:
    """(every message in sending order, the valid ones)."""
    pool = valid_lines(int(MESSAGES * 0.6))
    sent: list[bytes] = []
    valid: list[bytes] = []
    large_at = set(rng.sample(range(MESSAGES), LARGE))
    source = iter(pool)
    for n in range(MESSAGES):
        fresh = False
        if n in large_at:
            size = rng.randint(100_000, 2_000_000)
            if rng.random() < 0.5:
                data = noise(rng, size)
            else:
                data = b'{"v": 1, "type": "call.dialed", "x": "' + b"\x01" * size + b'"}'

        elif rng.random() < 0.6 and (line := next(source, None)) is not None:
            data, fresh = line, True
        elif rng.random() < 0.6:
            data = mutated(rng.choice(pool), rng)
        else:
            data = noise(rng, rng.randint(0, 300))
        # A mutation that happens to stay valid is not sent: with the original's event id, it is
        # a duplicate offline, but live it may come long after its call was forgotten, or name
        # another entity (events.md bounds a worker's memory of ids to its entity, briefly).
        if fresh:
            sent.append(data)
            valid.append(data)
        elif not is_valid(data):
            sent.append(data)
    return sent, valid


def test_the_worker_survives_hostile_input_and_counts_the_valid_events_exactly(
    fresh_broker: str, tmp_path: Path
) -> None:
    from kafka import KafkaProducer

    rng = random.Random(2026)
    sent, valid = messages(rng)
    invalid = len(sent) - len(valid)
    expected = analyze(line + b"\n" for line in valid)
    # Invalid messages never change a statistic; they are only counted (and a random message
    # may hold newlines, so they cannot be analysed as lines).
    expected["events"]["invalid"] = invalid
    assert invalid > 20_000 and len(valid) > 50_000

    (port,) = free_ports(1)
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log").start()
    producer = KafkaProducer(
        bootstrap_servers=fresh_broker, max_request_size=4 * 1024 * 1024, linger_ms=20
    )
    try:
        for data in sent:
            topic, key = route_line(data)
            producer.send(topic, key=key, value=data)
        producer.flush(timeout=300)

        samples = until_applied([worker], expected, deadline_s=600)
        assert worker.process is not None and worker.process.poll() is None, worker.log_tail()
        assert_matches_report(samples, expected)

        letters = consume(fresh_broker, DEAD_LETTER, invalid, deadline_s=300)
        ids = [json.loads(m.value or b"{}")["id"] for m in letters]
        assert len(ids) == invalid
        assert len(set(ids)) == invalid, "a dead letter was sent twice"
    finally:
        producer.close(timeout=10)
        stop_all([worker])
