"""The inbound queues on the live floor: every queue metric shown, and the service level alert
reading the very series its panel shows, at the panel's line."""

from __future__ import annotations

import re

from dashboards import build, live_floor, recorded, selectors
from tests.dashboards import rules
from tests.dashboards.contract import contract_labels, metric_names

QUEUE_PANELS = {panel.title: panel for panel in live_floor.queue_panels()}


def _reads(expr: str) -> set[str]:
    """The series an expression reads, recorded series replaced by what their rules read."""
    exprs = {rule["record"]: rule["expr"] for rule in rules.rules() if "record" in rule}
    names = set()
    for name in metric_names(expr):
        names |= _reads(exprs[name]) if name in exprs else {name}
    return names


def test_the_live_floor_shows_the_queues() -> None:
    on_the_floor = {panel.title for panel in live_floor.dashboard().panels}
    assert set(QUEUE_PANELS) <= on_the_floor


def test_every_queue_metric_is_on_the_live_floor() -> None:
    queue_series = {name for name in contract_labels() if name.startswith("floorpulse_queue_")}
    read = set().union(
        *(_reads(q.expr) for q in build.all_queries() if q.dashboard == live_floor.UID)
    )
    # The wait histogram's buckets are there for percentiles; the queued count names the
    # inbound-only queues in the campaign variable.
    unshown = queue_series - read - {"floorpulse_queue_wait_seconds_bucket"}
    assert unshown == {"floorpulse_queue_calls_queued_total"}, unshown
    assert "floorpulse_queue_calls_queued_total" in selectors.CAMPAIGNS


def test_queue_panels_are_per_campaign() -> None:
    for title, panel in QUEUE_PANELS.items():
        for query in panel.queries:
            assert 'campaign=~"$campaign"' in query.expr, title
            assert query.legend.startswith("{{campaign}}"), title


def test_the_service_level_leaves_short_abandons_out() -> None:
    (rule,) = [r for r in rules.rules() if r.get("record") == recorded.QUEUE_SERVICE_LEVEL]
    assert 'outcome=~"answered|abandoned"' in rule["expr"]
    assert "abandoned_short" not in rule["expr"]
    assert "> 0)" in rule["expr"], "no service level for a queue without calls"


def test_the_service_level_alert_reads_the_panel_s_series_at_its_line() -> None:
    (alert,) = [a for a in rules.alerts() if a["alert"] == "QueueServiceLevelLow"]
    panel = QUEUE_PANELS["Service level, 15 minutes"]
    (query,) = panel.queries
    assert metric_names(alert["expr"]) == metric_names(query.expr) == {recorded.QUEUE_SERVICE_LEVEL}
    line = re.fullmatch(r"\S+ < ([\d.]+)", alert["expr"].strip())
    assert line is not None and float(line[1]) == recorded.SERVICE_LEVEL_LINE
    assert [mark.value for mark in panel.marks] == [recorded.SERVICE_LEVEL_LINE]
    assert alert["for"] == "15m"
