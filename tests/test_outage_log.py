"""Kafka outages in a log (streams/outage_log.py): one line when one starts, one a minute while it
lasts, one when it ends, whatever the clients say meanwhile."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator

import pytest

from streams.outage_log import (
    KAFKA_LOGGERS,
    Outage,
    OutageFilter,
    duration,
    install,
    one_line,
    uninstall,
)

# What the clients log while a broker is away (aiokafka 0.14, seen in a worker and in replay).
REFUSED = "Unable connect to node with id %s: %s"
FLOOD = [
    ("aiokafka.client", logging.ERROR, REFUSED, (1, "[Errno 111] Connect call failed")),
    ("aiokafka.client", logging.ERROR, "Unable to update metadata from %s", ([1],)),
    (
        "aiokafka.consumer.fetcher",
        logging.ERROR,
        "Failed fetch messages from %s: %s",
        (1, "NodeNotReadyError: Attempt to send a request to node which is not ready (node id 1)."),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.ERROR,
        "Group Coordinator Request failed: %s",
        ("NodeNotReadyError",),
    ),
    (
        "aiokafka.consumer.group_coordinator",
        logging.WARNING,
        "Marking the coordinator dead (node %s)for group %s.",
        (1, "floorpulse"),
    ),
    (
        "aiokafka.producer.sender",
        logging.WARNING,
        "Got error produce response on topic-partition %s, retrying. Error: %s",
        ("TopicPartition(topic='dialer.agent-events', partition=5)", "NotLeaderForPartitionError"),
    ),
    (
        "kafka.conn",
        logging.ERROR,
        "%s: Connect attempt returned error %s. Disconnecting.",
        ("<BrokerConnection node_id=1 host=127.0.0.1:9092>", 111),
    ),
]


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Said:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, text: str) -> None:
        with self.lock:
            self.lines.append(text)


def wait_for(what: str, condition: object, deadline_s: float = 30.0) -> None:
    give_up = time.monotonic() + deadline_s
    while not condition():  # type: ignore[operator]
        if time.monotonic() > give_up:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)  # polling a condition with a deadline


@pytest.fixture
def logged() -> Iterator[list[logging.LogRecord]]:
    """Every record that gets past the filters of the Kafka clients' loggers."""
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    keep = Keep(level=logging.DEBUG)
    roots = [logging.getLogger(name) for name in (*KAFKA_LOGGERS, "other")]
    for root in roots:
        root.addHandler(keep)
    try:
        yield records
    finally:
        for root in roots:
            root.removeHandler(keep)


def flood(times: int = 1) -> None:
    for _ in range(times):
        for name, level, message, args in FLOOD:
            logging.getLogger(name).log(level, message, *args)


# Outage -----------------------------------------------------------------------------------------


def test_an_outage_is_one_line_when_it_starts_one_a_minute_and_one_when_it_ends() -> None:
    clock, said = FakeClock(), Said()
    outage = Outage(said, clock=clock, plan=lambda down_for: f"; giving up in {300 - down_for:g}s")
    assert outage.down("Connect call failed", since=clock.now - 3)
    assert not outage.down("again")
    for _ in range(150):
        clock.now += 1
        outage.note(None)
        outage.tick()
    assert outage.up()
    assert not outage.up()
    assert said.lines == [
        "Kafka unreachable (Connect call failed); retrying, with a line a minute while this "
        "lasts; giving up in 297s",
        "Kafka still unreachable after 1m00s (57 client log lines held back; the latest: "
        "again); giving up in 240s",
        "Kafka still unreachable after 2m00s (117 client log lines held back; the latest: "
        "again); giving up in 180s",
        "Kafka reachable again after 2m33s (150 client log lines held back)",
    ]


def test_a_long_outage_keeps_to_a_line_a_minute_even_when_ticks_are_late() -> None:
    clock, said = FakeClock(), Said()
    outage = Outage(said, clock=clock)
    outage.down()
    clock.now += 185
    outage.tick()
    outage.tick()
    clock.now += 10
    outage.tick()
    assert len(said.lines) == 2 and "after 3m05s" in said.lines[1]


@pytest.mark.parametrize(
    ("seconds", "shown"), [(0, "0s"), (59.9, "59s"), (61, "1m01s"), (3725, "1h02m")]
)
def test_durations_read_as_people_say_them(seconds: float, shown: str) -> None:
    assert duration(seconds) == shown


def test_a_reason_is_one_short_line() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert len(one_line("x" * 1000)) == 200


# the filter, driving (a worker) -----------------------------------------------------------------


@pytest.fixture
def driving(logged: list[logging.LogRecord]) -> Iterator[tuple[OutageFilter, Said]]:
    said = Said()
    held = OutageFilter(Outage(said), quiet_s=0.5, watch_every_s=0.02)
    loggers = [logging.getLogger(name) for name, *_ in FLOOD]
    for logger in loggers:
        logger.addFilter(held)
    try:
        yield held, said
    finally:
        for logger in loggers:
            logger.removeFilter(held)
        held.close()


def test_a_flood_of_connection_errors_is_one_line_at_each_end(
    driving: tuple[OutageFilter, Said], logged: list[logging.LogRecord]
) -> None:
    held, said = driving
    flood(500)
    assert logged == []
    # The reason is the latest client line held back: this flood's, unless a Kafka client left
    # behind by another test in this process logs at that moment; the shape is what counts.
    (started,) = said.lines
    assert started.startswith("Kafka unreachable (")
    assert started.endswith("); retrying, with a line a minute while this lasts")
    wait_for("the end of the outage", lambda: len(said.lines) == 2)
    ended = re.fullmatch(
        r"Kafka connection errors ended \(0s without one\) after 0s \(([\d,]+) client log lines"
        r" held back\)",
        said.lines[1],
    )
    assert ended is not None, said.lines[1]
    assert int(ended.group(1).replace(",", "")) >= 3_499
    assert held.outage.since is None


def test_an_outage_lasting_minutes_has_a_line_a_minute(logged: list[logging.LogRecord]) -> None:
    clock, said = FakeClock(), Said()
    held = OutageFilter(Outage(said, clock=clock), clock=clock, quiet_s=15, watch_every_s=0.01)
    logger = logging.getLogger("aiokafka.client")
    logger.addFilter(held)
    start = clock.now
    try:
        logger.error(REFUSED, 1, "refused")
        for minute in (1, 2, 3):
            while clock.now < start + 60 * minute:  # errors ten a second
                clock.now += 0.1
                logger.error(REFUSED, 1, "refused")
            wait_for(f"the line of minute {minute}", lambda m=minute: len(said.lines) == 1 + m)
        clock.now += 15
        wait_for("the end", lambda: held.outage.since is None)
    finally:
        logger.removeFilter(held)
        held.close()
    assert logged == []
    assert len(said.lines) == 1 + 3 + 1
    assert [line.split(" (")[0] for line in said.lines[1:4]] == [
        f"Kafka still unreachable after {m}m00s" for m in (1, 2, 3)
    ]
    assert said.lines[-1].startswith("Kafka connection errors ended (15s without one) after 3m00s")


def test_what_the_clients_say_of_coordinators_passes_outside_an_outage(
    driving: tuple[OutageFilter, Said], logged: list[logging.LogRecord]
) -> None:
    _, said = driving
    coordinator = logging.getLogger("aiokafka.consumer.group_coordinator")
    coordinator.warning("Heartbeat failed for group floorpulse because it is rebalancing")
    logging.getLogger("aiokafka.consumer.fetcher").warning("Fetch offset is out of range")
    logging.getLogger("other").error(REFUSED, 1, "a logger of no Kafka client")
    assert [r.getMessage() for r in logged] == [
        "Heartbeat failed for group floorpulse because it is rebalancing",
        "Fetch offset is out of range",
        "Unable connect to node with id 1: a logger of no Kafka client",
    ]
    assert said.lines == []


def test_a_traceback_of_a_connection_error_is_held_back(
    driving: tuple[OutageFilter, Said], logged: list[logging.LogRecord]
) -> None:
    _, said = driving
    try:
        raise ConnectionResetError(104, "Connection reset by peer")
    except ConnectionResetError:
        # kafka-python 3.0's transport, as a broker goes away.
        logging.getLogger("kafka.conn").exception(
            "<KafkaTCPTransport [none]>: Error receiving network data closing socket"
        )
    assert logged == []
    assert said.lines[0].startswith("Kafka unreachable (<KafkaTCPTransport [none]>: Error")


def test_other_errors_pass_during_an_outage(
    driving: tuple[OutageFilter, Said], logged: list[logging.LogRecord]
) -> None:
    flood()
    logging.getLogger("aiokafka.client").error("Something else entirely went wrong")
    assert [r.getMessage() for r in logged] == ["Something else entirely went wrong"]


# the filter, driven (record, replay) ------------------------------------------------------------


def test_driven_the_filter_holds_everything_back_and_only_keeps_the_reason(
    logged: list[logging.LogRecord],
) -> None:
    said = Said()
    outage = Outage(said)
    installed = install(outage, drive=False)
    try:
        flood(3)
        assert logged == []
        assert said.lines == []
        assert outage.reason is not None and "Connect" in outage.reason
        outage.down()
        assert said.lines[0].startswith(f"Kafka unreachable ({outage.reason})")
        outage.up()
        assert said.lines[1] == "Kafka reachable again after 0s (0 client log lines held back)"
    finally:
        uninstall(installed)
    flood()
    assert len(logged) == len(FLOOD)


def test_install_covers_every_logger_of_both_clients_once() -> None:
    installed = install(Outage(Said()))
    again = install(Outage(Said()))
    try:
        names = [
            name
            for name in logging.root.manager.loggerDict
            if name.split(".")[0] in KAFKA_LOGGERS
            and isinstance(logging.root.manager.loggerDict[name], logging.Logger)
        ]
        assert {"aiokafka.client", "aiokafka.producer.sender", "kafka.conn"} <= set(names)
        for name in names:
            filters = logging.getLogger(name).filters
            assert again in filters and installed not in filters
    finally:
        uninstall(again)
    assert not any(
        isinstance(f, OutageFilter)
        for name in list(logging.root.manager.loggerDict)
        for f in logging.getLogger(name).filters
    )
