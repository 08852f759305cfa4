"""The worker's Kafka transport: Faust's aiokafka driver, with an idempotent producer and a
consumer that hands whole fetches of some topics to one handler.

The producer: Faust's already waits for every in-sync replica (`producer_acks=-1`, acks=all), but
it turns idempotence on only inside transactions, which the worker does not use (exactly_once
has open duplicate and crash bugs). Without it, a batch whose acknowledgement was lost when a
broker died is sent again and written twice; with it, the new leader recognises the retry by the
producer's id and sequence number and keeps one copy, as the replay and the simulator's
producers do.

The consumer: Faust hands a fetch over one message at a time (per message a ConsumerMessage, the
conductor, a channel queue, an Event, the stream iterator, sensors, an ack), which costs several
times what the worker's own processing of an event does. With a `BulkRoute` registered for the
app (`route_in_bulk`), the records of its topics go instead, each fetch's at once and as
aiokafka made them, to `BulkRoute.apply`; their offsets are committed, by Faust's own commit
(its interval, its sensors, its tables' `on_commit`), once `ack_through` says everything up to
them is done with. Records of every other topic (the tables' changelogs during recovery) keep
Faust's path. Faust's flow control, pauses and rebalances apply as they do to that path: a
fetch is handed over only while the flow is on and only for partitions active then, and a
revocation (or the worker stopping) first waits for `BulkRoute.drain`, then commits, as Faust
waits for a stream's messages to be acked.

Without a route the consumer is Faust's, message by message (`floorpulse worker --consumer
faust`).

What of Faust's internals this relies on (faust-streaming 0.15;
tests/pipeline/test_transport_internals.py fails, naming the one that changed, if an upgrade
changes them):

- `Consumer._wait_next_records(timeout)`, which `getmany` awaits for each fetch, returns it as
  `(records by TP, active partitions)` before `getmany` turns it into messages;
- `Consumer._filter_tps_with_pending_acks(topics)`, where `force_commit` finds the partitions
  to commit, and `Consumer._new_offset(tp)`, where `_filter_committable_offsets` finds the
  offset to commit for each;
- `Consumer.wait_empty()` is what the app's revocation and stop await before they commit (with
  `stream_wait_empty`, on by default), and `Consumer.on_partitions_revoked` runs the app's
  revocation before it returns;
- `Producer._settings_extra()` adds its settings to those of every aiokafka producer it makes.

The rest is Faust's public interface: `flow_active`, `highwater`, the monitor's counters,
`stream_inbound_time` and `track_tp_end_offset`, and the Prometheus sensor's metrics.

The worker names this transport in its broker URLs, `floorpulse-kafka://host:port`: Faust finds
transports by URL scheme, and pyproject.toml registers this one (a `faust.transports` entry
point, as the table stores are).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from time import monotonic
from typing import Any, ClassVar, Final
from weakref import WeakKeyDictionary

from faust.sensors.prometheus import FaustMetrics, PrometheusMonitor
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, AppT, ConsumerT, ProducerT
from faust.types.transports import TPorTopicSet

SCHEME: Final = "floorpulse-kafka"

Fetched = Mapping[TP, Sequence[Any]]
"""One fetch's records (aiokafka's ConsumerRecord: topic, partition, offset, key, value, ...),
per partition in offset order."""


@dataclass(frozen=True)
class BulkRoute:
    """Where the consumer hands the records of `topics`, a fetch at a time."""

    topics: frozenset[str]
    apply: Callable[[Fetched], None]
    """Takes a fetch's records of `topics`. It runs in the fetch loop, which waits for it: what
    takes time (writing state) belongs in a task of its own."""
    drain: Callable[[], Awaitable[None]]
    """Returns once every record handed to `apply` has been acked through `ack_through`."""


_routes: WeakKeyDictionary[AppT, BulkRoute] = WeakKeyDictionary()


def route_in_bulk(app: AppT, route: BulkRoute) -> None:
    """Have `app`'s consumer (this transport's, created when the app starts) hand the records of
    `route.topics` to `route` in bulk."""
    _routes[app] = route


class Monitor(PrometheusMonitor):
    """Faust's Prometheus sensor, which also counts records taken in bulk."""

    def __init__(self, metrics: FaustMetrics) -> None:
        super().__init__(metrics=metrics)
        self.metrics = metrics

    def on_records_in(self, tp: TP, count: int, last_offset: int) -> None:
        """Count `count` records of `tp` up to `last_offset` as Faust counts a message received
        and an event taken by a stream (`on_message_in`, `on_stream_event_in`), at once."""
        self.messages_received_total += count
        self.messages_received_by_topic[tp.topic] += count
        self.tp_read_offsets[tp] = last_offset
        self.events_total += count
        metrics = self.metrics
        metrics.messages_received.inc(count)
        metrics.messages_received_per_topics.labels(topic=tp.topic).inc(count)
        metrics.messages_received_per_topics_partition.labels(
            topic=tp.topic, partition=tp.partition
        ).set(last_offset)
        metrics.total_events.inc(count)


class Producer(driver.Producer):
    """Faust's aiokafka producer, idempotent with acks=all whatever the transaction state."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Consumer(driver.Consumer):
    """Faust's aiokafka consumer, which hands the topics of the app's `BulkRoute`, if it has one,
    over in bulk."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.bulk = _routes.get(self.app)
        self._acked_through: dict[TP, int] = {}
        """Per partition taken in bulk: the last offset acked."""

    def ack_through(self, offsets: Mapping[TP, int]) -> None:
        """Every record of these partitions up to these offsets (included) is done with: the
        next commit commits the offset after each."""
        acked = self._acked_through
        for tp, offset in offsets.items():
            if offset > acked.get(tp, -1):
                acked[tp] = offset

    async def _wait_next_records(
        self, timeout: float
    ) -> tuple[Mapping[TP, list[Any]] | None, set[TP] | None]:
        records, active = await super()._wait_next_records(timeout)
        route = self.bulk
        if route is None or not records:
            return records, active
        rest = {tp: found for tp, found in records.items() if tp.topic not in route.topics}
        if len(rest) == len(records):
            return records, active
        # As Faust's getmany delivers: while the flow is on (a fetch that returns while it is
        # stopped is read again from the committed offsets), and only for the partitions still
        # active (not paused, not revoked).
        if self.flow_active and not self.should_stop:
            fetched = {
                tp: found
                for tp, found in records.items()
                if tp.topic in route.topics and (active is None or tp in active)
            }
            if fetched:
                self._records_in(fetched)
                route.apply(fetched)
        return rest, active

    def _records_in(self, fetched: Fetched) -> None:
        monitor = self.app.monitor
        now = monotonic()
        for tp, found in fetched.items():
            # The consumer lag (end offset) and the livelock check's "stream last took an event
            # at", which Faust records per message.
            monitor.track_tp_end_offset(tp, self.highwater(tp))
            monitor.stream_inbound_time[tp] = now
            if isinstance(monitor, Monitor):
                monitor.on_records_in(tp, len(found), found[-1].offset)

    def _filter_tps_with_pending_acks(self, topics: TPorTopicSet | None = None) -> Iterator[TP]:
        yield from super()._filter_tps_with_pending_acks(topics)
        for tp in self._acked_through:
            if topics is None or tp in topics or tp.topic in topics:
                yield tp

    def _new_offset(self, tp: TP) -> int | None:
        if self.bulk is None or tp.topic not in self.bulk.topics:
            return super()._new_offset(tp)
        acked = self._acked_through.get(tp)
        return None if acked is None else acked + 1

    async def wait_empty(self) -> None:
        """Wait for the records handed over in bulk to be acked, then for Faust's messages (and
        commit)."""
        if self.bulk is not None:
            await self.bulk.drain()
        await super().wait_empty()

    async def on_partitions_revoked(self, revoked: set[TP]) -> None:
        # Faust's revocation waits for the drain and commits: what was acked is now forgotten,
        # so that a partition assigned again starts from its committed offset.
        await super().on_partitions_revoked(revoked)
        for tp in revoked:
            self._acked_through.pop(tp, None)


class Transport(driver.Transport):
    """Faust's aiokafka transport with the producer and consumer above."""

    Consumer: ClassVar[type[ConsumerT]] = Consumer
    Producer: ClassVar[type[ProducerT]] = Producer
