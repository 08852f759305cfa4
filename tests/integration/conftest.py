"""Fixtures for tests against the real local broker, which `floorpulse kafka start` runs."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from streams.settings import Settings, load_settings
from streams.topics_admin import BrokerUnreachable, list_topics
from tests.integration.prometheus import Prometheus, binary


@pytest.fixture(scope="session")
def settings() -> Settings:
    """The settings every floorpulse command would build from this environment."""
    return load_settings()


@pytest.fixture(scope="session")
def bootstrap(settings: Settings) -> str:
    """FLOORPULSE_KAFKA_BOOTSTRAP, once a broker answers there; the test fails if none does."""
    try:
        list_topics(settings.kafka_bootstrap, timeout_s=10.0)
    except BrokerUnreachable as exc:
        problem = str(exc)
    else:
        return settings.kafka_bootstrap
    pytest.fail(
        f"no Kafka broker answers at {settings.kafka_bootstrap} (FLOORPULSE_KAFKA_BOOTSTRAP); "
        f"start one with `floorpulse kafka start`. {problem}",
        pytrace=False,
    )


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own, on free ports with empty topics; wiped afterwards. Tests of
    the live pipeline compare exact counts, which other tests' data on the shared broker would
    spoil."""
    from streams.localkafka import Ports, free_ports, start, stop
    from streams.topics_admin import ensure_topics

    data_dir = tmp_path / "kafka"
    broker, controller = free_ports(2)
    started = start(data_dir, Ports(broker, controller))
    try:
        ensure_topics(started.bootstrap, 6)
        yield started.bootstrap
    finally:
        stop(data_dir, wipe=True)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[Sequence[int]], Prometheus]]:
    """Start a real Prometheus (tests/integration/prometheus.py) that scrapes the workers on the
    given web ports with the project's rules loaded; stopped afterwards. Fails without the
    `prometheus` binary."""
    binary()
    started: list[Prometheus] = []

    def start(worker_ports: Sequence[int]) -> Prometheus:
        server = Prometheus.start(worker_ports, tmp_path / f"prometheus-{len(started)}")
        started.append(server)
        return server

    try:
        yield start
    finally:
        for server in started:
            server.stop()
