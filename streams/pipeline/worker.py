"""The Faust shell around the pipeline: topics in, tables and topics out, /metrics served.

Faust's agents here only move records: they hand each batch to `Pipeline.apply` and write back
what it returns. Table values are the pipeline's entries as bytes; every changelog write names
the input partition it belongs to, so a table's partitions follow the topic's.
"""

from __future__ import annotations

import tempfile
import time
from typing import Any, Final

import faust
import msgspec
from faust.sensors.prometheus import setup_prometheus_sensors
from prometheus_client import CollectorRegistry, Histogram

from streams.engine import DEFAULT_PARAMS, Params
from streams.pipeline.batch import Pipeline, Record, Writes
from streams.pipeline.entries import load_agent, load_campaign, load_partition
from streams.pipeline.metrics import EVENT_DELAY_BOUNDS_S, PREFIX, FloorCollector, Snapshot
from streams.settings import Settings
from streams.topics import AGENT_EVENTS, CALL_EVENTS, CHECKINS, DEAD_LETTER

APP_ID: Final = "floorpulse"
BATCH_MAX: Final = 5000
BATCH_WITHIN_S: Final = 0.05
"""How long a batch may wait to fill: the delay paid for fewer changelog writes."""
TICK_EVERY_S: Final = 10.0


class Worker:
    """One worker process: the Faust app, its tables and topics, and the metrics registry."""

    def __init__(self, settings: Settings, params: Params = DEFAULT_PARAMS) -> None:
        datadir = settings.data_dir or tempfile.mkdtemp(prefix="floorpulse-worker-")
        self.app = faust.App(
            APP_ID,
            broker=";".join(f"kafka://{s.strip()}" for s in settings.kafka_bootstrap.split(",")),
            # In memory, rebuilt from the changelog topics at start: Faust's RocksDB store picks
            # its per-partition database from the event being processed, which a batch that
            # spans partitions does not have.
            store="memory://",
            datadir=str(datadir),
            web_port=settings.web_port,
            web_bind=settings.web_bind,
            topic_partitions=settings.partitions,
            topic_replication_factor=1,
            table_standby_replicas=0,
            consumer_auto_offset_reset="earliest",
            processing_guarantee="at_least_once",
            producer_linger=0.005,
        )
        self.agents = self._table("agents")
        self.campaigns = self._table("campaigns")
        self.partitions = self._table("partitions")
        self.pipeline = Pipeline(
            self.agents.data, self.campaigns.data, self.partitions.data, params
        )
        self.dead_letters = self._topic(DEAD_LETTER)
        self.checkins = self._topic(CHECKINS)
        self.registry = CollectorRegistry(auto_describe=True)
        self.delay = Histogram(
            PREFIX + "event_delay_seconds",
            "Wall-clock processing time minus event time: how far behind live the worker runs.",
            ["topic"],
            registry=self.registry,
            buckets=EVENT_DELAY_BOUNDS_S,
        )
        self.registry.register(FloorCollector(self.snapshot))
        setup_prometheus_sensors(self.app, registry=self.registry, name_prefix="faust")
        for topic in (AGENT_EVENTS, CALL_EVENTS):
            self.app.agent(self._topic(topic), name=f"pipeline-{topic}")(self._consume)
        self.app.timer(TICK_EVERY_S)(self._tick)
        # Faust's signal stubs want a `signal` keyword in the receiver's signature.
        self.app.on_partitions_revoked.connect(self._forget)  # type: ignore[arg-type]
        self.app.on_partitions_assigned.connect(self._forget)  # type: ignore[arg-type]

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

    async def _consume(self, stream: Any) -> None:
        # In batches: every entity a batch touches costs one changelog write, however many of
        # its events the batch holds. take_events acks a batch only after this body has queued
        # its state, and Faust flushes that queue before it commits the batch's offsets.
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            records = [
                Record(m.topic, m.partition, m.offset, m.key, m.value)
                for m in (event.message for event in events)
            ]
            self._write(self.pipeline.apply(records, now_ms=_now_ms()))

    def _forget(self, _sender: Any, *_args: Any, **_kwargs: Any) -> None:
        self.pipeline.forget()

    async def _tick(self) -> None:
        owned = {tp.partition for tp in self._actives() if tp.topic == AGENT_EVENTS}
        if owned:
            self._write(self.pipeline.tick(owned, now_ms=_now_ms()))

    def _write(self, writes: Writes) -> None:
        # send_soon only queues: Faust flushes its producer before it commits input offsets,
        # so the state of every event it commits has reached the changelog first.
        for table, changed in (
            (self.agents, writes.agents),
            (self.campaigns, writes.campaigns),
            (self.partitions, writes.partitions),
        ):
            for key, (partition, data) in changed.items():
                table.send_changelog(partition, key, data)
        for original_key, wrapped in writes.dead_letters:
            self.dead_letters.send_soon(key=original_key, value=wrapped)
        for checkin in writes.checkins:
            self.checkins.send_soon(
                key=checkin.agent_id.encode(), value=msgspec.json.encode(checkin)
            )
        for topic, delays in writes.delays_ms.items():
            observe = self.delay.labels(topic).observe
            for delay in delays:
                observe(delay / 1000)

    def _actives(self) -> set[Any]:
        return set(self.app.assignor.assigned_actives())

    def snapshot(self) -> Snapshot:
        """The entries of the partitions this worker owns now: what /metrics exports."""
        actives = self._actives()
        agent_parts = {tp.partition for tp in actives if tp.topic == AGENT_EVENTS}
        call_parts = {tp.partition for tp in actives if tp.topic == CALL_EVENTS}
        snapshot = Snapshot(owned={AGENT_EVENTS: len(agent_parts), CALL_EVENTS: len(call_parts)})
        for data in self.agents.data.values():
            entry = load_agent(data)
            if entry.partition in agent_parts:
                snapshot.agents.append(entry)
        for key, data in self.campaigns.data.items():
            campaign = load_campaign(data)
            if campaign.partition in call_parts:
                snapshot.campaigns.append((key, campaign))
        owned = {(tp.topic, tp.partition) for tp in actives}
        for key, data in self.partitions.data.items():
            topic, _, number = key.rpartition(":")
            if (topic, int(number)) in owned:
                snapshot.partitions.setdefault(topic, []).append(load_partition(data))
        return snapshot


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
