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

Outages: aiokafka retries a message until the broker takes it, but fails every message waiting
for a partition whose leader it does not know once the message is older than its request
timeout, which is what a restarted broker reports at first. The sender's request timeout is
therefore longer than its `retry_for_s`: aiokafka keeps everything while the broker is away, and
`replay` (producers.replay.watch) decides when to give up, knowing which line is the first the
broker may not have (KafkaSender.oldest_waiting). A reader's requests are bounded by
`asyncio.wait_for` instead (KafkaReader.reachable).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any, Final, Protocol

from producers.sinks import SinkError
from streams.kafka_config import KafkaSecurity, or_environment
from streams.topics_admin import BrokerUnreachable, NotAuthenticated, partition_counts, unreachable

Partition = tuple[str, int]
"""(topic, partition): aiokafka's TopicPartition is a named tuple of these, equal to it."""

MAX_REMEMBERED_KEYS: Final = 100_000
MAX_RECORDS: Final = 10_000
"""Records taken per fetch: large enough to amortise, small enough to notice Ctrl-C at once."""
ABORT_S: Final = 10.0
"""Longest wait for aiokafka to let go of its connections once a sender gives up."""


class NoAnswer(SinkError):
    """The broker did not answer a request in time (it may be away: a reader waits for it)."""


class Message(Protocol):
    """The part of a consumed record that `record` uses."""

    @property
    def offset(self) -> int: ...
    @property
    def timestamp(self) -> int: ...
    @property
    def value(self) -> bytes | None: ...


def require_topics(
    bootstrap: str,
    topics: Iterable[str],
    *,
    timeout_s: float,
    security: KafkaSecurity | None = None,
) -> list[Partition]:
    """Every partition of `topics`; SinkError saying what to do when the broker or a topic is
    missing. (kafka-python's admin client: this runs once, before any event loop.) Without
    `security`, the environment's (FLOORPULSE_KAFKA_SECURITY_*), as for every client here."""
    wanted = list(topics)
    try:
        counts = partition_counts(bootstrap, wanted, timeout_s=timeout_s, security=security)
    except NotAuthenticated as exc:
        raise SinkError(str(exc)) from None
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
    a send that cannot even be queued raises SinkError.

    Each message is sent as a numbered line of a log; until the broker settles it (takes it, or
    refuses it), it is waiting: `oldest_waiting` names the first such line, `waiting()` counts
    them, and `settled` counts the messages settled so far. (Cheap on purpose: a send costs
    about 10 µs, and a clock reading or an object more per message would show.)"""

    def __init__(self, producer: Any) -> None:
        self._producer = producer
        self._kafka_error = kafka_error()
        self.refused = 0
        self.first_refusal: str | None = None
        self._closed = False
        self._aborted = False
        self._stopped = False
        self._partitioner = _aiokafka().partitioner.DefaultPartitioner()
        self._partition_of: dict[tuple[str, bytes], int] = {}
        # (line number, delivery), in the order sent; settled ones are dropped from the left.
        self._queued: deque[tuple[int, Any]] = deque()
        self._sending: int | None = None
        """The line being queued: a send waits while a full batch cannot go out."""
        self.settled = 0

    @classmethod
    async def connect(
        cls,
        bootstrap: str,
        *,
        client_id: str = "floorpulse-replay",
        timeout_s: float = 10.0,
        retry_for_s: float = 0.0,
        security: KafkaSecurity | None = None,
    ) -> KafkaSender:
        options = or_environment(security).aiokafka()
        producer = _aiokafka().AIOKafkaProducer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            acks="all",
            enable_idempotence=True,
            # Compression would cost more CPU in this one thread than it saves on a local broker.
            linger_ms=5,
            max_batch_size=256 * 1024,
            max_request_size=4 * 1024 * 1024,
            # Longer than any wait for the broker: see the module's note on outages.
            request_timeout_ms=int((timeout_s + retry_for_s) * 1000),
            **options,
        )
        try:
            await producer.start()
        except kafka_error() as exc:
            await producer.stop()
            problem = unreachable(bootstrap, exc, options["security_protocol"])
            raise SinkError(str(problem)) from None
        return cls(producer)

    async def send(self, topic: str, key: bytes | None, value: bytes, number: int = 0) -> None:
        queued = self._queued
        while queued and queued[0][1].done():
            queued.popleft()
        self._sending = number
        # A null key goes where aiokafka's partitioner puts it: any available partition.
        partition = None if key is None else self._partition_of.get((topic, key))
        try:
            if partition is None and key is not None:
                partition = await self._choose_partition(topic, key)
            delivery = await self._producer.send(topic, value, key=key, partition=partition)
        except self._kafka_error as exc:
            raise SinkError(f"could not queue a message for {topic}: {exc}") from None
        self._sending = None
        queued.append((number, delivery))
        delivery.add_done_callback(self._delivered)

    def oldest_waiting(self) -> int | None:
        """The line number of the first message sent that the broker has not settled, if any."""
        queued = self._queued
        while queued and queued[0][1].done():
            queued.popleft()
        first = queued[0][0] if queued else None
        sending = self._sending
        if sending is None or (first is not None and first < sending):
            return first
        return sending

    def waiting(self) -> int:
        """Messages sent that the broker has not settled."""
        unsettled = sum(1 for _, delivery in self._queued if not delivery.done())
        return unsettled + (self._sending is not None)

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
        if self._aborted:
            if not delivery.cancelled():
                delivery.exception()  # retrieved: asyncio would warn of it otherwise
            return
        self.settled += 1
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
        self._stopped = True

    async def abort(self) -> None:
        """Give up on every message still waiting, without waiting, and disconnect. They stay
        waiting (`oldest_waiting`, `waiting()`); none counts as refused. A `close` under way
        returns too."""
        if self._aborted or self._stopped:
            return
        self._closed = self._aborted = True
        # aiokafka has no way to drop what it queued: stop() waits until its queue is delivered,
        # or until its sender task ends. Ending that task leaves the queue undelivered, its
        # futures pending for good (a send blocked on a full batch too: cancel the sending task).
        task = self._producer._sender.sender_task
        if task is not None:
            task.cancel()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._producer.stop(), ABORT_S)


class KafkaReader:
    """A consumer of given partitions with no consumer group: it assigns them to itself and
    commits nothing, so reading never moves any group's offsets (a worker's included)."""

    def __init__(
        self, consumer: Any, partitions: Sequence[Partition], *, timeout_s: float = 10.0
    ) -> None:
        self._consumer = consumer
        self._partition = _aiokafka().TopicPartition
        self._partitions = [self._partition(*p) for p in partitions]
        self._timeout_s = timeout_s
        self._kafka_error = kafka_error()

    @classmethod
    async def connect(
        cls,
        bootstrap: str,
        partitions: Sequence[Partition],
        *,
        client_id: str = "floorpulse-record",
        timeout_s: float = 10.0,
        security: KafkaSecurity | None = None,
    ) -> KafkaReader:
        options = or_environment(security).aiokafka()
        consumer = _aiokafka().AIOKafkaConsumer(
            bootstrap_servers=bootstrap.split(","),
            client_id=client_id,
            group_id=None,
            enable_auto_commit=False,
            # Only if retention deletes what a slow recording had still to read.
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            request_timeout_ms=int(timeout_s * 1000),
            **options,
        )
        reader = cls(consumer, partitions, timeout_s=timeout_s)
        consumer.assign(reader._partitions)
        try:
            await consumer.start()
        except kafka_error() as exc:
            await consumer.stop()
            problem = unreachable(bootstrap, exc, options["security_protocol"])
            raise SinkError(str(problem)) from None
        return reader

    async def beginning_offsets(self) -> dict[Partition, int]:
        return dict(await self._consumer.beginning_offsets(self._partitions))

    async def end_offsets(self, timeout_s: float | None = None) -> dict[Partition, int]:
        """NoAnswer when the broker does not answer within `timeout_s` (the reader's timeout)."""
        wait = self._timeout_s if timeout_s is None else timeout_s
        try:
            ends = await asyncio.wait_for(self._consumer.end_offsets(self._partitions), wait)
        except (TimeoutError, self._kafka_error) as exc:
            raise NoAnswer(f"no answer to a request for end offsets ({exc!r})") from None
        return dict(ends)

    async def reachable(self, timeout_s: float) -> bool:
        """Whether the broker answers a small request (the end offsets) within `timeout_s`."""
        try:
            await self.end_offsets(timeout_s)
        except NoAnswer:
            return False
        return True

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
        try:
            await self._consumer.stop()
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                raise
            # aiokafka 0.14: a fetch that failed and waits to retry (the broker away) lets its
            # cancellation out of stop(), before the client is closed: close it here.
            await self._consumer._client.close()
