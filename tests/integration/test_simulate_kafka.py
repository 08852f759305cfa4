"""The simulator into the real local broker: every event on its topic, with its key, in key order.

Each test marks its messages with a source (or key prefix) of its own and reads only from the end
offsets taken before producing, so data left on the shared topics by other runs never matters.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Final, TypeVar

import pytest

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from producers.sinks import KafkaSink, SinkError
from streams.codec import InvalidEvent, decode, encode
from streams.events import Event
from streams.topics import AGENT_EVENTS, CALL_EVENTS, DIALER_TOPICS, route
from tests.producers.test_sinks import messages

pytestmark = pytest.mark.kafka

DEADLINE_S: Final = 60.0
START_MS: Final = 1_767_700_000_000
_V = TypeVar("_V")


@contextmanager
def reader(bootstrap: str) -> Iterator[Any]:
    """A consumer of every partition of the dialer topics, placed at their current ends."""
    from kafka import KafkaConsumer, TopicPartition  # type: ignore[import-untyped, unused-ignore]

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap.split(","), enable_auto_commit=False, group_id=None
    )
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in DIALER_TOPICS
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        for partition, offset in consumer.end_offsets(partitions).items():
            consumer.seek(partition, offset)
        yield consumer
    finally:
        consumer.close()


def collect(consumer: Any, keep: Callable[[Any], bool], expected: int) -> list[Any]:
    """The records `keep` accepts, in offset order per partition, once `expected` of them have
    arrived; fails at the deadline."""
    kept: list[Any] = []
    deadline = time.monotonic() + DEADLINE_S
    while len(kept) < expected:
        assert time.monotonic() < deadline, f"{len(kept)} of {expected} messages arrived"
        for records in consumer.poll(timeout_ms=500).values():
            kept += filter(keep, records)
    return kept


def read_back(consumer: Any, source: str, expected: int) -> list[tuple[str, int, str, Event]]:
    """(topic, partition, key, event) of the events of `source`, in offset order per partition."""

    def ours(record: Any) -> bool:
        try:
            return decode(record.value).source == source
        except InvalidEvent:
            return False  # another test's deliberately broken message

    return [
        (r.topic, r.partition, r.key.decode(), decode(r.value))
        for r in collect(consumer, ours, expected)
    ]


def by_key(messages: Iterable[tuple[str, str, _V]]) -> dict[tuple[str, str], list[_V]]:
    """(topic, key, value) grouped by (topic, key), each group in the order given."""
    groups: dict[tuple[str, str], list[_V]] = defaultdict(list)
    for topic, key, value in messages:
        groups[topic, key].append(value)
    return dict(groups)


def check_delivery(expected: list[Event], received: list[tuple[str, int, str, Event]]) -> None:
    assert len(received) == len(expected)
    for topic, _, key, event in received:
        assert (topic, key) == route(event)
    partitions_of_key: dict[tuple[str, str], set[int]] = defaultdict(set)
    for topic, partition, key, _ in received:
        partitions_of_key[topic, key].add(partition)
    assert all(len(p) == 1 for p in partitions_of_key.values())
    # Offset order per partition is send order per key: compare each key's sequence.
    sent = by_key([(*route(e), e.event_id) for e in expected])
    got = by_key([(topic, key, e.event_id) for topic, _, key, e in received])
    assert got == sent
    assert {t for t, _ in sent} == {AGENT_EVENTS, CALL_EVENTS}


def floor(source: str) -> FloorConfig:
    return FloorConfig(
        agents=12, teams=3, campaigns=2, duration_ms=HOUR // 2, start_ms=START_MS, source=source
    )


def test_the_kafka_sink_delivers_every_event_on_its_topic_in_key_order(bootstrap: str) -> None:
    source = f"it-sink-{uuid.uuid4().hex[:12]}"
    events = list(simulate(floor(source), random.Random(11)))

    with reader(bootstrap) as consumer:
        sink = KafkaSink(bootstrap)
        for event in events:
            topic, key = route(event)
            sink.send(topic, key, encode(event))
        sink.close()
        received = read_back(consumer, source, len(events))

    check_delivery(events, received)
    sent = {e.event_id: e for e in events}
    assert all(sent[e.event_id] == e for *_, e in received)


def test_the_command_produces_what_the_simulator_generates(bootstrap: str) -> None:
    source = f"it-cli-{uuid.uuid4().hex[:12]}"
    events = list(simulate(floor(source), random.Random(5)))

    with reader(bootstrap) as consumer:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "streams.cli",
                "simulate",
                *("--agents", "12", "--teams", "3", "--campaigns", "2", "--duration", "30m"),
                *("--seed", "5", "--start", str(START_MS), "--source", source, "--speed", "max"),
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap},
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert f"{len(events):,} events to Kafka at {bootstrap}" in done.stderr
        received = read_back(consumer, source, len(events))

    check_delivery(events, received)


def test_the_kafka_sink_keeps_the_sink_contract(bootstrap: str) -> None:
    prefix = f"it-contract-{uuid.uuid4().hex[:12]}"
    sent = messages(3_000, prefix)

    with reader(bootstrap) as consumer:
        sink = KafkaSink(bootstrap)
        for n, (topic, key, value) in enumerate(sent):
            sink.send(topic, key, value)
            if n % 1_000 == 0:
                sink.flush()
        sink.close()
        sink.close()
        received = collect(consumer, lambda r: r.key.decode().startswith(prefix), len(sent))

    assert len(received) == len(sent)
    assert by_key([(r.topic, r.key.decode(), r.value) for r in received]) == by_key(sent)


def test_a_missing_topic_is_named_with_what_to_do(bootstrap: str) -> None:
    missing = f"floorpulse-missing-{uuid.uuid4().hex[:8]}"

    with pytest.raises(SinkError, match=f"{missing}.*floorpulse kafka start"):
        KafkaSink(bootstrap, topics=[missing], timeout_s=2.0)
