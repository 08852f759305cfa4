"""What the worker's transport (streams/pipeline/transport.py) relies on in Faust beyond its
public interface. Each test names one such reliance: one that fails after an upgrade of
faust-streaming says which to look at again before the bulk consumer can be trusted (its live
tests would fail too, less plainly: events never applied, offsets never committed, a rebalance
that loses what was applied).

No broker: Faust builds its consumer and producer objects without connecting."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from importlib.metadata import entry_points, version
from pathlib import Path
from typing import Any

import pytest
from aiokafka.structs import ConsumerRecord
from faust.app.base import App
from faust.sensors.prometheus import FaustMetrics
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as driver
from faust.types import TP
from faust.types.tuples import Message
from prometheus_client import CollectorRegistry

from streams.engine import DEFAULT_PARAMS
from streams.pipeline import transport
from streams.pipeline.batch import Pipeline
from streams.pipeline.entries import load_partition
from streams.pipeline.worker import Worker
from streams.settings import Settings
from streams.topics import AGENT_EVENTS

FAUST = f"faust-streaming {version('faust-streaming')}"
FaustConsumer = faust_consumer.Consumer
TP0 = TP(AGENT_EVENTS, 0)


def calls(function: Callable[..., Any], name: str) -> bool:
    """Whether `function`'s own code names `name` (a method it calls)."""
    return name in inspect.unwrap(function).__code__.co_names


def parameters(function: Callable[..., Any]) -> list[str]:
    return list(inspect.signature(function).parameters)


def changed(what: str) -> str:
    return f"{FAUST}: {what} changed; see streams/pipeline/transport.py's docstring"


@pytest.fixture
def worker(tmp_path: Path) -> Worker:
    # Nothing listens there: nothing here connects.
    return Worker(Settings(kafka_bootstrap="127.0.0.1:9", data_dir=tmp_path))


@pytest.fixture
def consumer(worker: Worker) -> transport.Consumer:
    found = worker.app.consumer
    assert isinstance(found, transport.Consumer), changed("how an app makes its consumer")
    return found


def test_the_broker_url_scheme_finds_the_transport_through_its_entry_point(
    worker: Worker,
) -> None:
    (point,) = entry_points(group="faust.transports", name=transport.SCHEME)
    assert point.load() is transport.Transport
    assert type(worker.app.transport) is transport.Transport
    assert type(worker.app.producer) is transport.Producer


def test_getmany_takes_each_fetch_from_wait_next_records() -> None:
    # The bulk consumer overrides _wait_next_records to take its topics' records out of each
    # fetch before getmany turns the rest into messages.
    assert calls(FaustConsumer.getmany, "_wait_next_records"), changed("Consumer.getmany")
    assert parameters(FaustConsumer._wait_next_records) == ["self", "timeout"], changed(
        "Consumer._wait_next_records"
    )


def test_a_commit_takes_its_partitions_and_offsets_where_the_bulk_acks_are(
    consumer: transport.Consumer,
) -> None:
    assert calls(FaustConsumer.force_commit, "_filter_tps_with_pending_acks"), changed(
        "Consumer.force_commit"
    )
    assert calls(FaustConsumer._commit_tps, "_filter_committable_offsets"), changed(
        "Consumer._commit_tps"
    )
    assert calls(FaustConsumer._filter_committable_offsets, "_new_offset"), changed(
        "Consumer._filter_committable_offsets"
    )
    consumer.ack_through({TP0: 41})
    consumer.ack_through({TP0: 40})  # an ack behind the last one moves nothing back
    assert list(consumer._filter_tps_with_pending_acks({AGENT_EVENTS})) == [TP0]
    assert consumer._filter_committable_offsets([TP0]) == {TP0: 42}, changed(
        "the offsets a commit takes"
    )


def test_a_revocation_and_a_stop_wait_for_wait_empty_before_they_commit(
    worker: Worker,
) -> None:
    # The bulk consumer drains (writes and acks what it applied) in wait_empty.
    assert worker.app.conf.stream_wait_empty, changed("stream_wait_empty's default")
    assert calls(App._consumer_wait_empty, "wait_empty"), changed("App._consumer_wait_empty")
    for caller in (App._on_partitions_revoked, App._stop_consumer):
        assert calls(caller, "_consumer_wait_empty"), changed(f"App.{caller.__name__}")
    assert calls(FaustConsumer.wait_empty, "commit_and_end_transactions"), changed(
        "Consumer.wait_empty"
    )
    # Revoked partitions' acks are forgotten after Faust's revocation, which drains.
    assert calls(FaustConsumer.on_partitions_revoked, "_on_partitions_revoked"), changed(
        "Consumer.on_partitions_revoked"
    )


def test_the_consumer_has_the_flow_and_partition_state_the_bulk_path_reads(
    consumer: transport.Consumer,
) -> None:
    assert consumer.flow_active is True, changed("Consumer.flow_active")
    consumer.stop_flow()
    assert consumer.flow_active is False, changed("Consumer.stop_flow")
    consumer.resume_flow()


def test_the_monitor_counts_records_in_bulk_as_faust_counts_messages_one_by_one(
    worker: Worker,
) -> None:
    bulk = transport.Monitor(FaustMetrics.create(CollectorRegistry(), "faust"))
    one_by_one = transport.Monitor(FaustMetrics.create(CollectorRegistry(), "faust"))
    bulk.on_records_in(TP0, 3, 42)
    for offset in (40, 41, 42):
        message = Message(AGENT_EVENTS, 0, offset, 0.0, 0, None, b"k", b"v", None)
        one_by_one.on_message_in(TP0, offset, message)
        one_by_one.events_total += 1  # what on_stream_event_in adds, which needs a stream
        one_by_one.metrics.total_events.inc()

    def counted(monitor: transport.Monitor) -> tuple[Any, ...]:
        metrics = monitor.metrics
        return (
            monitor.messages_received_total,
            dict(monitor.messages_received_by_topic),
            dict(monitor.tp_read_offsets),
            monitor.events_total,
            metrics.messages_received._value.get(),
            metrics.messages_received_per_topics.labels(topic=AGENT_EVENTS)._value.get(),
            metrics.messages_received_per_topics_partition.labels(
                topic=AGENT_EVENTS, partition=0
            )._value.get(),
            metrics.total_events._value.get(),
        )

    assert counted(bulk) == counted(one_by_one), changed("Faust's monitor")
    # The livelock check and the consumer lag, which Faust's getmany and streams feed per message.
    assert isinstance(worker.app.monitor.stream_inbound_time, dict), changed(
        "Monitor.stream_inbound_time"
    )
    assert calls(FaustConsumer.getmany, "track_tp_end_offset"), changed(
        "Monitor.track_tp_end_offset"
    )


def test_the_producer_takes_its_settings_from_settings_extra(worker: Worker) -> None:
    assert calls(driver.Producer._new_producer, "_settings_extra"), changed(
        "Producer._new_producer"
    )
    extra = transport.Producer._settings_extra(worker.app.producer)
    assert extra["enable_idempotence"] is True and extra["acks"] == "all"


def test_the_pipeline_takes_aiokafka_records_as_they_are() -> None:
    pipeline = Pipeline({}, {}, {}, DEFAULT_PARAMS)
    value = (
        b'{"v": 1, "type": "agent.state", "event_id": "e1", "ts": 1767603600000, "source": "demo",'
        b' "state": "ready", "agent_id": "a1", "team_id": "T1", "campaign_id": "C1"}'
    )
    record = ConsumerRecord(AGENT_EVENTS, 0, 7, 0, 0, b"a1", value, None, 2, len(value), ())
    effects = pipeline.apply_partitions([((AGENT_EVENTS, 0), [record])], now_ms=1_767_603_601_000)
    assert effects.dead_letters == []
    assert pipeline.changed
    assert load_partition(pipeline.flush().partitions[f"{AGENT_EVENTS}:0"][1]).offset == 7
