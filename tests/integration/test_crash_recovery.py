"""A worker killed again and again while Prometheus scrapes it: no counter ever goes backwards,
the final numbers are the report's, and how soon a restarted worker exports again is printed.

/metrics shows only state written to the changelog, and nothing while a restart restores it, so
what a restarted worker exports is never below what the killed one exported (Prometheus would
read that as a counter reset and invent an increase)."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from streams.localkafka import free_ports
from tests.integration.live import WorkerProcess, produce_lines, stop_all, wait_for
from tests.integration.prometheus import Prometheus
from tests.integration.test_worker import (
    applied_count,
    assert_matches_report,
    expected,
    read_lines,
    until_applied,
)
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka

KILLS = 3
COUNTER = re.compile(r"floorpulse_.+(_total|_bucket|_count|_sum)")
"""Every floorpulse counter, histograms' series included."""


def test_counters_never_go_backwards_through_repeated_crashes(
    fresh_broker: str, prometheus: Callable[[Sequence[int]], Prometheus], tmp_path: Path
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    report, lines = expected(log), read_lines(log)
    (port,) = free_ports(1)
    server = prometheus([port])
    worker = WorkerProcess(fresh_broker, port, tmp_path / "worker-0.log").start()
    recoveries: list[float] = []
    try:
        server.wait_until_up([port])
        chunk = len(lines) // (KILLS + 1)
        for kill in range(KILLS):
            produce_lines(fresh_broker, lines[kill * chunk : (kill + 1) * chunk])
            target = (kill + 1) * chunk // 2
            wait_for(
                "Prometheus to scrape the worker partway",
                lambda t=target: (
                    True if (server.value("sum(floorpulse_events_total)") or 0) > t else None
                ),
                deadline_s=90,
            )
            exported = worker.samples().applied()
            worker.stop(signal.SIGKILL)
            killed_at = time.monotonic()
            worker = WorkerProcess(fresh_broker, port, tmp_path / f"worker-{kill + 1}.log")
            worker.start()
            wait_for(
                "the restarted worker to export its partitions again",
                lambda w=worker: (
                    True if w.samples().total("floorpulse_partitions_owned") == 12 else None
                ),
                deadline_s=90,
            )
            recoveries.append(time.monotonic() - killed_at)
            assert worker.samples().applied() >= exported
        produce_lines(fresh_broker, lines[KILLS * chunk :])
        samples = until_applied([worker], report)
        assert_matches_report(samples, report)
        applied = applied_count(report)
        wait_for(
            "Prometheus to scrape the whole floor",
            lambda: True if server.value("sum(floorpulse_events_total)") == applied else None,
            deadline_s=60,
        )
        names = [n for n in server.api("label/__name__/values") if COUNTER.fullmatch(n)]
        assert len(names) > 20, names
        for name in names:
            resets = server.query(f"resets({name}[30m]) > 0")
            assert resets == [], (name, [r["metric"] for r in resets])
    finally:
        stop_all([worker])
    print(
        f"\nkilled {KILLS} times; exporting again after "
        + ", ".join(f"{s:.1f} s" for s in recoveries)
        + " (kill to every partition exported)"
    )
