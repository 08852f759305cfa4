"""Kafka for `record` and `replay` through aiokafka: one producer, one consumer with no group.

Why aiokafka here when KafkaSink uses kafka-python: measured on the local broker, on one core,
with simulated events, kafka-python produced about 19,000 events/s (KafkaSink, gzip) and consumed
about 46,000/s, while aiokafka produced about 87,000/s (100,000 with each key's partition
remembered, below) and consumed about 360,000/s (its record parsing is compiled). Both are
maintained; aiokafka is already a dependency, through faust-streaming. No other module of
streams/ or producers/ imports it, so its lack of type information stops here.

Order: aiokafka keeps at most one batch in flight per partition, so messages sent in order reach
each partition in that order, retries included; the producer is also idempotent (acks=all), so a
retry never writes a message twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

from producers.sinks import SinkError
from streams.topics_admin import BrokerUnreachable, partition_counts

Partition = tuple[str, int]
"""(topic, partition): aiokafka's TopicPartition is a named tuple of these, equal to it."""

MAX_REMEMBERED_KEYS: Final = 100_000
MAX_RECORDS: Final = 10_000
"""Records taken per fetch: large enough to amortise, small enough to notice Ctrl-C at once."""


class Message(Protocol):
    """The part of a consumed record that `record` uses."""

    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...


def require_topics(bootstrap: str, topics: Iterable[str], *, timeout_s: float) -> list[Partition]:
    """Every partition of `topics`; SinkError saying what to do when the broker or a topic is
    missing. (kafka-python's admin client: this runs once, before any event loop.)"""
    wanted = list(topics)
    try:
        counts = partition_counts(bootstrap, wanted, timeout_s=timeout_s)
    except BrokerUnreachable as exc:
        raise SinkError(
            f"{exc}: start one with `floorpulse kafka start`, or point FLOORPULSE_KAFKA_BOOTSTRAP "
            "at one"
        ) from None
    missing = [topic for topic in wanted if not counts.get(topic)]
    if missing:
        raise SinkError(
            f"topic(s) {', '.join(missing)} missing on {bootstrap}: create them with "
            "`floorpulse kafka start`"
        )
    return [(topic, p) for topic in wanted for p in range(counts[topic])]


def _aiokafka() -> Any:
    import aiokafka

    return aiokafka


def kafka_error() -> type[Exception]:
    """aiokafka's base exception, imported only when needed."""
    from aiokafka.errors import KafkaError

    error: type[Exception] = KafkaError
    return error


class KafkaSender:
    """Sends raw values with raw keys. `refused` counts messages the broker did not take;
    a send that cannot even be queued raises SinkError."""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._kafka_error = kafka_error()
        self.refused = 0
        self.first_refusal: str | None = None
        self._closed = False
        self._partitioner = _aiokafka().partitioner.DefaultPartitioner()
        self._partition_of: dict[tuple[str, bytes], int] = {}

    @classmethod
    async def connect(
        cls, bootstrap: str, *, client_id: str = "floorpulse-replay", timeout_s: float = 10.0
    ) -> KafkaSender:
        producer = _aiokafka().AIOKafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            # Compression would cost more CPU in this one thread than it saves on a local broker.
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=4 * 1024 * 1024,
            request_timeout_ms=int(timeout_s * 1000),
        )
        try:
            await producer.start()
        except kafka_error() as exc:
            await producer.stop()
            raise SinkError(f"no Kafka broker answered at {bootstrap}: {exc}") from None
        return cls(producer)

    async def send(self, topic: str, key: bytes | None, value: bytes) -> None:
        # A null key goes where aiokafka's partitioner puts it: any available partition.
        partition = None if key is None else self._partition_of.get((topic, key))
        try:
            if partition is None and key is not None:
                partition = await self._choose_partition(topic, key)
            delivery = await self._producer.send(topic, value, key=key, partition=partition)
        except self._kafka_error as exc:
            raise SinkError(f"could not queue a message for {topic}: {exc}") from None
        delivery.add_done_callback(self._delivered)

    async def _choose_partition(self, topic: str, key: bytes) -> int:
        """aiokafka's own choice (murmur2, as every Kafka client), remembered: hashing in pure
        Python was a quarter of the cost of a send, and a log has few keys."""
        if len(self._partition_of) >= MAX_REMEMBERED_KEYS:
            self._partition_of.clear()
        partitions = sorted(await self._producer.partitions_for(topic))
        partition: int = self._partitioner(key, partitions, partitions)
        self._partition_of[topic, key] = partition
        return partition

    def _delivered(self, delivery: Any) -> None:
        if delivery.cancelled():
            self._refuse("cancelled")
        elif delivery.exception() is not None:
            self._refuse(str(delivery.exception()) or type(delivery.exception()).__name__)

    def _refuse(self, why: str) -> None:
        self.refused += 1
        if self.first_refusal is None:
            self.first_refusal = why

    async def close(self) -> None:
        """Wait for every queued message to be delivered or refused, then disconnect."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._producer.flush()
        finally:
            await self._producer.stop()
        # Delivery callbacks are scheduled, not called, as deliveries complete: let them run.
        await asyncio.sleep(0)


class KafkaReader:
    """A consumer of given partitions with no consumer group: it assigns them to itself and
    commits nothing, so reading never moves any group's offsets (a worker's included)."""

    def __init__(self, consumer: Any, partitions: Sequence[Partition]) -> None:
        self._consumer = consumer
        self._partition = _aiokafka().TopicPartition
        self._partitions = [self._partition(*p) for p in partitions]

    @classmethod
    async def connect(
        cls,
        bootstrap: str,
        partitions: Sequence[Partition],
        *,
        client_id: str = "floorpulse-record",
        timeout_s: float = 10.0,
    ) -> KafkaReader:
        consumer = _aiokafka().AIOKafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            # Only if retention deletes what a slow recording had still to read.
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            request_timeout_ms=int(timeout_s * 1000),
        )
        reader = cls(consumer, partitions)
        consumer.assign(reader._partitions)
        try:
            await consumer.start()
        except kafka_error() as exc:
            await consumer.stop()
            raise SinkError(f"no Kafka broker answered at {bootstrap}: {exc}") from None
        return reader

    async def beginning_offsets(self) -> dict[Partition, int]:
        return dict(await self._consumer.beginning_offsets(self._partitions))

    async def end_offsets(self) -> dict[Partition, int]:
        return dict(await self._consumer.end_offsets(self._partitions))

    async def offsets_at(self, ms: int) -> dict[Partition, int | None]:
        """Per partition, the first offset whose record time is `ms` or later (None: none yet)."""
        found = await self._consumer.offsets_for_times(dict.fromkeys(self._partitions, ms))
        return {p: None if at is None else at.offset for p, at in found.items()}

    def seek(self, partition: Partition, offset: int) -> None:
        self._consumer.seek(self._partition(*partition), offset)

    async def position(self, partition: Partition) -> int:
        position: int = await self._consumer.position(self._partition(*partition))
        return position

    def pause(self, partition: Partition) -> None:
        self._consumer.pause(self._partition(*partition))

    async def fetch(self, timeout_s: float) -> dict[Partition, list[Message]]:
        found: dict[Partition, list[Message]] = await self._consumer.getmany(
            timeout_ms=int(timeout_s * 1000), max_records=MAX_RECORDS
        )
        return found

    async def close(self) -> None:
        await self._consumer.stop()
