"""A floor's configuration gives the same numbers live as offline, and a worker says so when
its state was built under another configuration."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from streams.analyze import analyze
from streams.config import load
from streams.localkafka import free_ports
from tests.integration.live import WorkerProcess, produce_lines, stop_all, wait_for
from tests.integration.test_worker import assert_matches_report, read_lines, until_applied
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "floorpulse.example.toml"


def test_a_non_default_configuration_gives_the_same_numbers_live(
    fresh_broker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("wellbeing"))
    lines = read_lines(log)
    config = load(EXAMPLE).config
    expected = analyze(lines, config.params())
    default = analyze(lines)
    # The configuration changes this floor's numbers: ten rejections in a row are a streak at
    # the contract's eight, not at the example's fourteen.
    assert expected != default

    monkeypatch.setenv("FLOORPULSE_CONFIG", str(EXAMPLE))
    (port,) = free_ports(1)
    state = tmp_path / "state"
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log", data_dir=state).start()
    try:
        produce_lines(fresh_broker, lines)
        assert_matches_report(until_applied([worker], expected), expected)
    finally:
        stop_all([worker])

    # Started again under the contract's defaults, over the same state: it says so.
    monkeypatch.delenv("FLOORPULSE_CONFIG")
    worker.stop(signal.SIGTERM)
    again = WorkerProcess(fresh_broker, port, tmp_path / "again.log", data_dir=state).start()
    try:
        wait_for(
            "the worker to name the other configuration",
            lambda: True if config.fingerprint() in again.log.read_text(errors="replace") else None,
            deadline_s=90,
        )
        line = next(x for x in again.log_tail().splitlines() if config.fingerprint() in x)
        assert "built under another configuration" in line
    finally:
        stop_all([again])
