"""A real Prometheus scrapes a worker, and the metrics are queryable through its HTTP API.

The shared `shift` scenario (three campaigns, two teams, duplicates and invalid events) goes
through `floorpulse worker` on a broker of the test's own; Prometheus, configured from
deploy/prometheus/prometheus.yml with the project's rule files, scrapes the worker; its query API
then gives the numbers of the scenario's offline report.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from streams.localkafka import free_ports
from tests.dashboards import rules
from tests.integration.live import WorkerProcess, produce_lines, stop_all, wait_for
from tests.integration.prometheus import JOB, Prometheus
from tests.integration.test_worker import applied_count, expected, read_lines, until_applied
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka


def test_prometheus_scrapes_a_worker_and_its_api_gives_the_report(
    fresh_broker: str, prometheus: Callable[[Sequence[int]], Prometheus], tmp_path: Path
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    report = expected(log)
    applied = applied_count(report)
    (port,) = free_ports(1)
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker.log").start()
    try:
        server = prometheus([port])
        server.wait_until_up([port])
        (target,) = [t for t in server.targets() if t["labels"]["job"] == JOB]
        assert target["scrapeUrl"] == f"http://127.0.0.1:{port}/metrics"
        # The config points at the project's rule files: every group of them is loaded.
        groups = [g for path in rules.RULE_FILES for g in rules.load(path)["groups"]]
        loaded = {(g["name"], len(g["rules"])) for g in server.rule_groups()}
        assert loaded == {(g["name"], len(g["rules"])) for g in groups}

        produce_lines(fresh_broker, read_lines(log))
        until_applied([worker], report)
        wait_for(
            f"Prometheus to have scraped all {applied} applied events",
            lambda: True if server.value("sum(floorpulse_events_total)") == applied else None,
            deadline_s=30,
        )

        assert server.by("instance", f'up{{job="{JOB}"}}') == {f"127.0.0.1:{port}": 1}
        events = report["events"]
        assert server.value("sum(floorpulse_events_duplicate_total)") == events["duplicate"]
        assert server.value("sum(floorpulse_events_invalid_total)") == events["invalid"]
        assert server.value("sum(floorpulse_events_late_total)") == events["late"]
        campaigns = report["campaigns"]
        dialed = server.by("campaign", "sum by (campaign) (floorpulse_calls_dialed_total)")
        assert dialed == {name: c["dialed"] for name, c in campaigns.items()}
        abandoned = server.by("campaign", "sum by (campaign) (floorpulse_calls_abandoned_total)")
        assert abandoned == {name: c["abandoned"] for name, c in campaigns.items()}
        talk = server.by("campaign", "sum by (campaign) (floorpulse_call_talk_seconds_sum)")
        assert talk.keys() == campaigns.keys()
        for name, seconds in talk.items():
            assert math.isclose(seconds, campaigns[name]["talk_seconds"], rel_tol=1e-9), name
        positive = server.by(
            "team", 'sum by (team) (floorpulse_dispositions_total{class="positive"})'
        )
        assert positive == {
            name: t["dispositions"]["positive"]
            for name, t in report["teams"].items()
            if t["agents"]
        }
    finally:
        stop_all([worker])
