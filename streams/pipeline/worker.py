"""The Faust shell around the pipeline: topics in, tables and topics out, /metrics served.

Faust's agents here only move records: they hand each batch to `Pipeline.apply` and write back
what it returns. Table values are the pipeline's entries as bytes; every changelog write names
the input partition it belongs to, so a table's partitions follow the topic's.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import faust
from faust.sensors.prometheus import FaustMetrics
from faust.types import TP
from prometheus_client import CollectorRegistry, Counter, generate_latest

from streams.config import FloorConfig
from streams.engine.calls import DAY_MS
from streams.kafka_config import KafkaSecurity
from streams.pipeline.batch import Effects, Pipeline
from streams.pipeline.metrics import (
    PREFIX,
    FloorCollector,
    Limits,
    Snapshot,
)
from streams.pipeline.published import Published
from streams.pipeline.transport import BulkRoute, Consumer, Fetched, Monitor, route_in_bulk
from streams.pipeline.web import serve_metrics_only
from streams.pipeline.wire import checkin_value
from streams.settings import Settings
from streams.topics import (
    CHANGELOG_MAX_BYTES,
    CHECKINS,
    DEAD_LETTER,
    DIALER_TOPICS,
    INPUT_MAX_BYTES,
)
from streams.topics_admin import ensure_topics

log = logging.getLogger(__name__)

DEFAULT_CONFIG: Final = FloorConfig()

APP_ID: Final = "floorpulse"
Consumption = Literal["bulk", "faust"]
"""How events reach the pipeline: a fetch at a time, straight from the consumer
(streams/pipeline/transport.py), or through Faust's agents a message at a time."""
BATCH_MAX: Final = 5000
"""The most records a fetch (bulk) or a batch of an agent's stream (faust) holds."""
BATCH_WITHIN_S: Final = 0.05
"""How long an agent's batch may wait to fill: applied state, and so /metrics, is at most this
late (faust; in bulk, a fetch is applied as it comes)."""
FLUSH_SHARE: Final = 0.1
"""Writing changed state waits until this share of the time or less goes to writing it: after
every batch on a calm floor, every few batches under a backlog (a campaign entry holds the
calls it remembers, so it is large, and a backlog touches every campaign in every batch)."""
FLUSH_EVERY_S: Final = 1.0
"""The longest changed state waits for its write, and so input offsets for their commit."""
TICK_EVERY_S: Final = 10.0
SESSION_TIMEOUT_S: Final = 10.0
CHANGELOG_CONFIG: Final = {
    "cleanup.policy": "compact",
    "max.message.bytes": str(CHANGELOG_MAX_BYTES),
}
"""The settings a table's changelog topic gets: Faust's, and an explicit size limit."""


class Worker:
    """One worker process: the Faust app, its tables and topics, and the metrics registry."""

    def __init__(
        self,
        settings: Settings,
        config: FloorConfig = DEFAULT_CONFIG,
        consumer: Consumption = "bulk",
    ) -> None:
        self.settings = settings
        self.config = config
        self.consumer = consumer
        self.app = faust.App(
            APP_ID,
            # streams/pipeline/transport.py: Faust's aiokafka transport, its producer idempotent.
            broker=";".join(
                f"floorpulse-kafka://{s.strip()}" for s in settings.kafka_bootstrap.split(",")
            ),
            broker_credentials=KafkaSecurity.from_settings(settings).faust_credentials(),
            # RocksDB in the data dir keeps state across restarts (only the changelog written
            # since is read back); without one, memory, rebuilt from the changelog topics.
            store="floorpulse-rocksdb://" if settings.data_dir else "floorpulse-memory://",
            datadir=str(settings.data_dir or tempfile.mkdtemp(prefix="floorpulse-worker-")),
            web_port=settings.web_port,
            web_bind=settings.web_bind,
            topic_partitions=settings.partitions,
            # For topics Faust creates itself; `floorpulse worker` sets it from the cluster's
            # size when FLOORPULSE_REPLICATION_FACTOR is unset (streams.topics_admin.replication).
            topic_replication_factor=settings.replication_factor or 1,
            # Every write waits for the in-sync replicas (min.insync.replicas of the topic).
            producer_acks=-1,
            table_standby_replicas=0,
            consumer_auto_offset_reset="earliest",
            processing_guarantee="at_least_once",
            producer_linger=0.005,
            producer_max_request_size=CHANGELOG_MAX_BYTES,
            consumer_max_fetch_size=INPUT_MAX_BYTES * 2,
            # The web server serves /metrics and /health only: Faust's table and router views
            # would show one person's whole record (state, pause reason, open check-ins).
            web_router_enabled=False,
            web_tables_enabled=False,
            web_stats_enabled=False,
            web_graph_enabled=False,
            web_metrics_enabled=False,
            # A crashed worker's partitions go to the others (or to it, restarted) once its
            # session expires: ten seconds rather than Faust's sixty.
            broker_session_timeout=SESSION_TIMEOUT_S,
            broker_heartbeat_interval=SESSION_TIMEOUT_S / 10,
            # A fetch is applied whole in bulk: this bounds how long it holds the event loop.
            broker_max_poll_records=BATCH_MAX if consumer == "bulk" else None,
        )
        self.agents = self._table("agents")
        self.campaigns = self._table("campaigns")
        self.partitions = self._table("partitions")
        self.pipeline = Pipeline(
            self.agents.data,
            self.campaigns.data,
            self.partitions.data,
            config.params(),
            future_ms=round(settings.future_limit_s * 1000),
            fingerprint=config.fingerprint(),
            retention_ms=round(settings.retention_days * DAY_MS),
        )
        self.published = Published()
        self.dead_letters = self._topic(DEAD_LETTER)
        self.checkins = self._topic(CHECKINS)
        self.registry = CollectorRegistry(auto_describe=True)
        self.outputs_failed = Counter(
            PREFIX + "outputs_failed",
            "Dead letters and check-ins the broker did not take (logged; the worker goes on).",
            ["topic"],
            registry=self.registry,
        )
        self._scraped = Snapshot()
        self.collector = FloorCollector(
            lambda: self._scraped,
            Limits(settings.max_campaigns, settings.max_queues, settings.max_teams),
            pacing=config.pacing.limits(),
        )
        self.registry.register(self.collector)
        self.app.monitor = Monitor(FaustMetrics.create(self.registry, "faust"))
        serve_metrics_only(self.app, self._render_metrics, self._health)
        self._scraping = asyncio.Lock()
        self._folded_logged: dict[str, int] = {}
        self._rules_named: set[str] = set()
        self._unacked: list[tuple[Any, Sequence[Any]]] = []
        """Batches of Faust's events applied and not yet acked, with their streams (faust)."""
        self._applied_through: dict[TP, int] = {}
        """Per partition, the last offset applied and not yet acked (bulk)."""
        self._flushing = asyncio.Lock()
        self._outgoing: list[tuple[Any, bytes | None, bytes]] = []
        # Until the first assignment is restored, the stores hold part of the state: /metrics
        # then shows nothing, never a counter lower than the one a crashed worker exported.
        self._recovering = True
        self._revocations = 0
        self._flush_task: asyncio.Future[None] | None = None
        self._flushed_at = time.monotonic()
        self._flush_cost_s = 0.0
        if consumer == "bulk":
            route_in_bulk(self.app, BulkRoute(frozenset(DIALER_TOPICS), self._apply, self._drain))
            for topic in DIALER_TOPICS:
                self.app.topics.add(self._topic(topic))  # subscribed, and read by the route
        else:
            for topic in DIALER_TOPICS:
                self.app.agent(self._topic(topic), name=f"pipeline-{topic}")(self._consume)
        self.app.timer(TICK_EVERY_S)(self._tick)
        self.app.task(self._flush_regularly)
        # Faust's signal stubs want a `signal` keyword in the receiver's signature.
        self.app.on_partitions_revoked.connect(self._on_revoked)  # type: ignore[arg-type]
        self.app.on_rebalance_complete.connect(self._on_recovered)  # type: ignore[arg-type]

    def ensure_changelogs(self, timeout_s: float = 60.0) -> None:
        """Create the tables' changelog topics that are missing, as Faust would, and return once
        the broker's metadata shows them; call it before the app starts.

        Faust creates them at start too, and subscribes right after: on KRaft the broker can
        show a topic some moments after creating it, and a group leader that assigns before then
        leaves the topic out ("Ignoring missing topic") until its consumer next reads metadata,
        five minutes later (consumer_metadata_max_age_ms). Until then no worker owns that
        changelog, so one that takes partitions over restores none of their entries.
        """
        ensure_topics(
            self.settings.kafka_bootstrap,
            self.settings.partitions,
            timeout_s=timeout_s,
            configs={name: CHANGELOG_CONFIG for name in self.app.tables.changelog_topics},
            replication_factor=self.settings.replication_factor,
            min_insync_replicas=self.settings.min_insync_replicas,
            security=KafkaSecurity.from_settings(self.settings),
        )

    def _table(self, name: str) -> Any:
        return self.app.Table(name, key_type=str, value_type=bytes)

    def _topic(self, name: str) -> Any:
        # Raw bytes both ways: events are decoded once, by the codec, and a message that is
        # not JSON must reach the dead-letter path rather than fail in Faust's deserializer.
        return self.app.topic(
            name,
            key_type=bytes,
            value_type=bytes,
            key_serializer="raw",
            value_serializer="raw",
        )

    # Events are acked only once the state they changed has reached its changelog (`_write`),
    # and Faust commits only acked offsets: at least once, and idempotent by the offsets in the
    # entries.

    def _apply(self, fetched: Fetched) -> None:
        """A fetch's records of the dialer topics, from the consumer (bulk)."""
        self._send(self.pipeline.apply_partitions(fetched.items(), now_ms=_now_ms()))
        applied = self._applied_through
        for tp, records in fetched.items():
            applied[tp] = records[-1].offset
        self._flush_when_due()

    async def _consume(self, stream: Any) -> None:
        """An agent's stream of one dialer topic (faust)."""
        async for events in stream.noack_take(BATCH_MAX, within=BATCH_WITHIN_S):
            messages = [event.message for event in events]
            self._send(self.pipeline.apply(messages, now_ms=_now_ms()))
            self._unacked.append((stream, events))
            self._flush_when_due()

    def _flush_when_due(self) -> None:
        flushing = self._flush_task is not None and not self._flush_task.done()
        due = time.monotonic() - self._flushed_at >= self._flush_cost_s / FLUSH_SHARE
        if due and not flushing:
            # In the background: batches go on being applied while this state is delivered.
            self._flush_task = asyncio.ensure_future(self._flush())

    @property
    def _pending(self) -> bool:
        """Whether state changed or events were applied since the last write."""
        return bool(self.pipeline.changed or self._unacked or self._applied_through)

    async def _flush(self) -> None:
        # One at a time, so that a key's changelog records go out in the order of its states.
        async with self._flushing:
            await self._write()

    async def _write(self) -> None:
        """Store and send what changed, then ack the events applied to it. The caller holds
        `_flushing`."""
        started = time.perf_counter()
        self._flushed_at = time.monotonic()
        writes, unacked, applied = self.pipeline.flush(), self._unacked, self._applied_through
        self._unacked, self._applied_through = [], {}
        changes: tuple[tuple[Any, Mapping[str, tuple[int, bytes | None]]], ...] = (
            (self.agents, writes.agents),
            (self.campaigns, writes.campaigns),
            (self.partitions, writes.partitions),
        )
        outgoing, self._outgoing = self._outgoing, []
        # A check-in must reach the broker before the state that records it as decided: after
        # a crash that state keeps it from being decided, and so sent, again. A dead letter
        # before the ack of its message. Neither can stop the floor: what the broker refuses
        # is logged and counted.
        await self._deliver(outgoing)
        try:
            # Straight to the producer, not through Faust's send buffer: that one holds up
            # every incoming message while it has over 100 to send.
            sent = [
                await table.changelog_topic.send(
                    key=key,
                    value=data,
                    partition=partition,
                    key_serializer=table.key_serializer,
                    value_serializer=table.value_serializer,
                    force=True,
                )
                for table, changed in changes
                for key, (partition, data) in changed.items()
            ]
            # What writing costs this worker; the wait for the broker below costs it nothing.
            self._flush_cost_s = time.perf_counter() - started
            # Delivered, every one, before the stores hold them and the events are acked.
            delivered = iter(await asyncio.gather(*sent))
        except Exception as exc:
            # These changes and acks have left the pipeline: a worker that went on would never
            # write them. It stops instead; started again, it reads the unacked events again
            # and applies what its stores and changelogs do not hold.
            await self.app.crash(exc)
            return
        for table, changed in changes:
            for key, (partition, data) in changed.items():
                table.data.put(partition, key, data)
                table.data.delivered(next(delivered))
        for stream, events in unacked:
            for event in events:
                await stream.ack(event)
        if applied:
            consumer = self.app.consumer
            assert isinstance(consumer, Consumer)  # the transport's, as the broker URL says
            consumer.ack_through(applied)

    async def _flush_regularly(self) -> None:
        # A task rather than a Faust timer: timers end as the app starts to stop, and Faust
        # then waits for every event read to be acked, which only a flush does.
        while True:
            await asyncio.sleep(FLUSH_EVERY_S)
            if self._pending:
                await self._flush()

    async def _on_revoked(self, _sender: Any, *_args: Any, **_kwargs: Any) -> None:
        # Partitions move: no ticks until the stores are restored (they would judge entries
        # half read back), and everything this worker changed goes out first.
        self._recovering = True
        self._revocations += 1
        await self._forget()

    async def _on_recovered(self, _sender: Any, *_args: Any, **_kwargs: Any) -> None:
        # Faust has restored the partitions this worker now owns: read the stores afresh.
        revocations = self._revocations
        await self._forget()
        for other in sorted(self.pipeline.other_rules() - self._rules_named):
            self._rules_named.add(other)
            log.warning(
                "floorpulse worker: the state of these partitions was built under another"
                " configuration (rules %s; this worker's are %s): events from now on follow"
                " this worker's codes and thresholds, so numbers mix two sets of rules until"
                " the state is rebuilt (`floorpulse config check` prints a file's fingerprint)",
                other,
                self.pipeline.fingerprint,
            )
        if self._revocations == revocations:  # no new rebalance began meanwhile
            self._recovering = False

    async def _drain(self) -> None:
        """Write all that was applied and ack it: Faust waits for this (bulk) before it commits
        for a revocation or a stop, as it waits for its streams' acks."""
        async with self._flushing:
            await self._write_all()

    async def _forget(self) -> None:
        async with self._flushing:
            await self._write_all()
            self.pipeline.forget()

    async def _write_all(self) -> None:
        # Under the lock: a write in flight is delivered first, as every write is before it
        # returns, so a new owner restores all this worker changed.
        while self._pending:
            await self._write()  # a batch may have been applied while the last one was sent

    async def _tick(self) -> None:
        owned = self._owned()
        if owned and not self._recovering:
            self._send(self.pipeline.tick(owned, now_ms=_now_ms()))

    def _send(self, effects: Effects) -> None:
        for original_key, wrapped in effects.dead_letters:
            self._outgoing.append((self.dead_letters, original_key, wrapped))
        for checkin in effects.checkins:
            self._outgoing.append(
                (self.checkins, checkin.agent_id.encode(), checkin_value(checkin))
            )

    async def _deliver(self, outgoing: Sequence[tuple[Any, bytes | None, bytes]]) -> None:
        # Handed to the producer one by one, in order, so that a check-in's closing never
        # overtakes its opening; then delivered together.
        sending = []
        for topic, key, value in outgoing:
            try:
                sending.append((topic, value, await topic.send(key=key, value=value, force=True)))
            except Exception as exc:  # whatever the client says, the floor goes on
                self._refused(topic, value, exc)
        delivered = await asyncio.gather(*(f for *_, f in sending), return_exceptions=True)
        for (topic, value, _), result in zip(sending, delivered, strict=True):
            if isinstance(result, BaseException):
                self._refused(topic, value, result)

    def _refused(self, topic: Any, value: bytes, exc: BaseException) -> None:
        self.outputs_failed.labels(topic.get_topic_name()).inc()
        log.warning(
            "floorpulse worker: %s refused a message of %d bytes (%s); counted in"
            " floorpulse_outputs_failed_total",
            topic.get_topic_name(),
            len(value),
            type(exc).__name__,
        )

    async def _render_metrics(self) -> bytes:
        """The exposition, rendered in a thread from copies of the stores taken here, so that a
        large scrape never holds up the events being applied."""
        async with self._scraping:
            owned = set() if self._recovering else self._owned()
            stores: tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]] = (
                dict(self.agents.data.items()),
                dict(self.campaigns.data.items()),
                dict(self.partitions.data.items()),
            )
            body = await asyncio.to_thread(self._render, stores, owned)
        for kind, count in self.collector.folded.items():
            if count != self._folded_logged.get(kind, 0):
                log.warning(
                    "floorpulse worker: /metrics shows %d %s%s together as `other`"
                    " (FLOORPULSE_MAX_%sS)",
                    count,
                    kind,
                    "" if count == 1 else "s",
                    kind.upper(),
                )
                self._folded_logged[kind] = count
        return body

    def _render(
        self, stores: tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]], owned: Any
    ) -> bytes:
        self._scraped = self.published.snapshot(*stores, owned)
        return generate_latest(self.registry)

    def _health(self) -> dict[str, Any]:
        owned = self._owned()
        return {
            "status": "recovering" if self._recovering else "ok",
            "partitions": sorted(f"{topic}:{partition}" for topic, partition in owned),
        }

    def _owned(self) -> set[tuple[str, int]]:
        return {(tp.topic, tp.partition) for tp in self._actives() if tp.topic in DIALER_TOPICS}

    def _actives(self) -> set[Any]:
        return set(self.app.assignor.assigned_actives())


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
