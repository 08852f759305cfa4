"""The dashboards against a live floor (issue 6's proof).

`floorpulse simulate` feeds a broker of this module's own with the last three hours of a floor,
paced so that the counters grow across many scrapes; `floorpulse worker` processes it; a real
Prometheus with the project's rules loaded scrapes the worker every second. Then every panel's
query, with its variables filled in as Grafana would, runs through Prometheus' HTTP API and
returns data, unless the panel says in the code that it only has data in a rare state (then it
must still run); every metric name a dashboard or rule reads is one the worker exports, or one
the rules record; and every rule evaluates without error.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dashboards.build import PanelQuery, all_queries
from dashboards.pipeline import LAG
from dashboards.selectors import ALL, CAMPAIGNS
from streams.topics import DIALER_TOPICS
from tests.dashboards import rules
from tests.dashboards.contract import PROMETHEUS_OWN, metric_names, series_names
from tests.integration.live import WorkerProcess, wait_for
from tests.integration.prometheus import JOB, Prometheus, QueryError, scraped_worker

pytestmark = pytest.mark.kafka

AGENTS: Final = 20
TEAMS: Final = 2
"""Ten people a team, so that each team stays above the dashboards' minimum group size (five
present) when someone is logged out mid-shift."""
DURATION_MS: Final = 3 * 3_600_000
"""Three hours: team-01 (the no-breaks preset) passes 90 minutes without a real break, and the
floor (seed 1) ends with people of team-02 paused, whom "Paused, by reason" shows now."""
SPEED: Final = 720
"""Three simulated hours in fifteen seconds: the counters grow over fifteen scrapes or more
(rate() and the `> 0` of ratios need growth inside their window), whatever the worker's pace."""
APPLY_DEADLINE_S: Final = 240.0
"""About 19,000 events; the worker applies a few hundred a second on two cores."""
RATE_INTERVAL: Final = "1m"
"""Grafana's $__rate_interval for a one-second scrape: many samples, all of them from this run."""
SUMMARY: Final = re.compile(r"floorpulse simulate: ([\d,]+) events to Kafka")


@dataclass(frozen=True)
class Floor:
    worker: WorkerProcess
    prometheus: Prometheus
    events: int
    """How many events the simulator wrote (and the worker applied)."""


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Floor]:
    """A simulated floor through a worker on a broker of its own, scraped by Prometheus, once
    every event is applied, committed, scraped and the rules evaluated on it."""
    workdir = tmp_path_factory.mktemp("dashboards-live")
    with ExitStack() as stack:
        bootstrap, worker, server = scraped_worker(stack, workdir)
        try:
            events = simulate(bootstrap)
            wait_for(
                f"the worker to apply all {events} events",
                lambda: True if worker.samples().applied() >= events else None,
                deadline_s=APPLY_DEADLINE_S,
            )
            settle(server, events)
        except AssertionError:
            print(f"worker log:\n{worker.log_tail()}\nprometheus log:\n{server.log_tail()}")
            raise
        yield Floor(worker, server, events)


def simulate(bootstrap: str) -> int:
    """Run `floorpulse simulate` into the broker, its events ending now; return their count."""
    now_ms = time.time_ns() // 1_000_000
    command = [
        *(sys.executable, "-m", "streams.cli", "simulate"),
        *("--agents", str(AGENTS), "--teams", str(TEAMS), "--preset", "no-breaks"),
        *("--duration", f"{DURATION_MS // 1000}s", "--start", str(now_ms - DURATION_MS)),
        *("--speed", str(SPEED)),
    ]
    done = subprocess.run(
        command,
        env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = SUMMARY.search(done.stderr)
    assert done.returncode == 0 and found, f"floorpulse simulate failed:\n{done.stderr}"
    return int(found[1].replace(",", ""))


def settle(server: Prometheus, events: int) -> None:
    """Until Prometheus has scraped every applied event, and the worker's commit of every one of
    them, and every rule group has been evaluated since.

    The consumer lag panel subtracts Faust's committed offsets from the end offsets it fetched up
    to; Faust sets a partition's committed offset only at its first commit after a rebalance
    (every 2.8 s while there is something to commit), and the commits trail what is applied by a
    few seconds. Once the lag is zero for both input topics, the floor is settled.
    """
    wait_for(
        f"Prometheus to scrape all {events} applied events",
        lambda: True if server.value("sum(floorpulse_events_total)") == events else None,
        deadline_s=30,
    )

    def committed() -> dict[str, float] | None:
        lag = server.by("topic", f"sum by (topic) ({LAG})")
        caught_up = set(DIALER_TOPICS) <= lag.keys() and not any(lag.values())
        return lag if caught_up else None

    wait_for("Faust to commit every applied offset of both input topics", committed, deadline_s=30)
    server.wait_for_rules_after(datetime.now(UTC))


def variables(server: Prometheus) -> dict[str, tuple[str, str]]:
    """Grafana's two ways of filling `campaign` and `team` for "everything": All, and every
    value chosen one by one (a multi-value selection, "a|b")."""

    def every(label: str, expr: str) -> str:
        values = sorted(server.by(label, f"count by ({label}) ({expr})"))
        assert values, f"no {label} in {expr}"
        # Plain names: Grafana would escape regex characters, none of which they hold.
        assert all(re.fullmatch(r"[\w-]+", value) for value in values), values
        return "|".join(values)

    return {
        "All": (ALL, ALL),
        "each value chosen": (
            every("campaign", CAMPAIGNS),
            every("team", "floorpulse_agents"),
        ),
    }


def run(server: Prometheus, queries: list[PanelQuery]) -> list[str]:
    """What is wrong with the panels' queries: refused by Prometheus, or empty when not rare."""
    problems = []
    for q in queries:
        where = f"{q.dashboard} / {q.panel}"
        try:
            result = server.query(q.expr)
        except QueryError as exc:
            problems.append(f"{where}: refused: {exc}\n    {q.expr}")
            continue
        if not result and not q.rare:
            problems.append(f"{where}: no data\n    {q.expr}")
    return problems


def test_every_panel_query_returns_data(floor: Floor) -> None:
    problems = []
    for name, (campaign, team) in variables(floor.prometheus).items():
        queries = all_queries(campaign=campaign, team=team, rate_interval=RATE_INTERVAL)
        assert queries
        problems += [f"[{name}] {p}" for p in run(floor.prometheus, queries)]
    assert not problems, f"{len(problems)} panel queries fail:\n" + "\n".join(problems)


def exported_names(exposition: str) -> set[str]:
    """Every series name a /metrics exposition declares, with samples or not yet: a family is
    declared (HELP and TYPE) before it has a sample, as floorpulse_events_invalid_total is until
    an invalid event comes in. Counters with `_total`, histograms as `_bucket`, `_sum` and
    `_count`."""
    names = set()
    for family in text_string_to_metric_families(exposition):
        names |= {sample.name for sample in family.samples}
        names |= series_names(family.name, family.type)
    return names


def test_every_metric_a_dashboard_or_rule_reads_is_exported(floor: Floor) -> None:
    readers: defaultdict[str, set[str]] = defaultdict(set)
    for q in all_queries(rate_interval=RATE_INTERVAL):
        for name in metric_names(q.expr):
            readers[name].add(f"{q.dashboard} / {q.panel}")
    for rule in rules.rules():
        for name in metric_names(rule["expr"]):
            readers[name].add(rule.get("alert") or rule["record"])
    assert readers

    from_prometheus = rules.recorded() | PROMETHEUS_OWN
    exported = exported_names(floor.worker.metrics_text())
    missing = {n: sorted(w) for n, w in readers.items() if n not in exported | from_prometheus}
    assert not missing, f"read but not exported by the worker: {missing}"

    # Recorded series come from the rules, `up` from Prometheus itself: each must have data.
    empty = [name for name in sorted(from_prometheus) if not floor.prometheus.query(name)]
    assert not empty, f"no data for {empty}"
    assert floor.prometheus.by("job", "up") == {JOB: 1}


def test_the_project_rules_load_and_evaluate_without_error(floor: Floor) -> None:
    groups = floor.prometheus.rule_groups()
    loaded = {rule["name"]: rule for g in groups for rule in g["rules"]}
    wanted = {rule.get("alert") or rule["record"] for rule in rules.rules()}
    assert loaded.keys() == wanted
    broken = {
        name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"
    }
    assert not broken, f"rules that fail to evaluate: {broken}"


def test_the_floor_ends_in_a_state_every_panel_can_show(floor: Floor) -> None:
    # What the simulated floor must hold now for the panels to have data: teams of at least
    # five people present (every team panel), someone paused (floorpulse_agents_paused has
    # a series only for a team and reason with people paused now), and an inbound queue (the
    # simulator's last campaign is blended) with answered callers (service level, speed of
    # answer); a queue's worker exports every outcome, hung up or not.
    present = floor.prometheus.by("team", "sum by (team) (floorpulse_agents)")
    assert len(present) == TEAMS and min(present.values()) >= 5, present
    assert floor.prometheus.value('sum(floorpulse_agents{state="paused"})'), "nobody is paused"
    outcomes = floor.prometheus.by("outcome", "sum by (outcome) (floorpulse_queue_calls_total)")
    assert set(outcomes) == {"answered", "abandoned", "abandoned_short"}, outcomes
    assert outcomes["answered"], outcomes
