"""floor-a's AMI stream, live through the real broker: the adapter reads it from an AMI of the
test's own (which drops the connection halfway), a worker processes it, and the worker's
/metrics equal the offline report of the same events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from streams.analyze import analyze
from streams.codec import decode, encode
from streams.events import AgentState, AgentStateChanged
from streams.localkafka import free_ports
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.dialer_fixtures import dialer_path
from tests.integration.live import WorkerProcess, consume, produce_lines, stop_all
from tests.integration.test_worker import assert_matches_report, until_applied
from tests.producers.asterisk.fake_ami import FakeAmi, connect
from tests.producers.asterisk.views import FLOOR_A_TOML, capture_events, encoded

pytestmark = pytest.mark.kafka

SECRET = "s3cret-Tr0mb0ne"


@pytest.fixture
def capture() -> Path:
    return dialer_path("asterisk", "floor-a", "ami.txt")


@pytest.fixture
def ami(capture: Path) -> Iterator[FakeAmi]:
    server = FakeAmi(capture, "floorpulse", SECRET, drop_halfway=True).start()
    try:
        yield server
    finally:
        server.stop()


def day_end(lines: list[bytes]) -> list[bytes]:
    """A logged_out at the last event's time for everyone still logged in."""
    events = [decode(line) for line in lines]
    end = max(event.ts for event in events)
    last = {e.agent_id: e for e in events if isinstance(e, AgentStateChanged)}
    return [
        encode(
            msgspec.structs.replace(
                event,
                event_id=f"test-day-end-{agent}",
                ts=end,
                state=AgentState.LOGGED_OUT,
                reason=msgspec.UNSET,
                call_id=msgspec.UNSET,
            )
        )
        for agent, event in sorted(last.items())
        if event.state is not AgentState.LOGGED_OUT
    ]


def without_counts(report: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in report.items() if key != "events"}


def test_the_ami_live_through_kafka_gives_the_worker_the_offline_report(
    capture: Path, ami: FakeAmi, fresh_broker: str, tmp_path: Path
) -> None:
    config = tmp_path / "floor.toml"
    config.write_text(FLOOR_A_TOML)
    expected = encoded(capture_events(capture)[0])
    # The capture ends with everyone still logged in, and the worker exports closed intervals
    # only (metrics.md): the test ends the day by logging everyone out at its last moment,
    # which leaves the offline report as it was.
    closing = day_end(expected)
    report = analyze(expected + closing)  # the worker's rules: the contract's defaults
    assert without_counts(report) == without_counts(analyze(expected))
    (port,) = free_ports(1)
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log").start()
    try:
        done = connect(
            ami,
            SECRET,
            *("--config", str(config), "--until-idle", "3"),
            env={"FLOORPULSE_KAFKA_BOOTSTRAP": fresh_broker},
        )
        assert done.returncode == 0, done.stderr
        assert "1 reconnect(s)" in done.stderr and ami.drops == 1
        produce_lines(fresh_broker, closing)
        samples = until_applied([worker], report)
        assert_matches_report(samples, report)
    finally:
        stop_all([worker])
    expected += closing
    # Every event once, on its topic, keyed by its agent or its campaign.
    states = [event for event in map(decode, expected) if isinstance(event, AgentStateChanged)]
    on_agents = consume(fresh_broker, AGENT_EVENTS, len(states))
    on_calls = consume(fresh_broker, CALL_EVENTS, len(expected) - len(states))
    assert sorted(m.value or b"" for m in on_agents + on_calls) == sorted(expected)
    for message in on_agents:
        event = decode(message.value or b"")
        assert isinstance(event, AgentStateChanged) and message.key == event.agent_id.encode()
    for message in on_calls:
        event = decode(message.value or b"")
        assert not isinstance(event, AgentStateChanged)
        assert message.key == event.campaign_id.encode()
