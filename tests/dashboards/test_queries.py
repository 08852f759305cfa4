"""Every query of every dashboard and rule reads what the worker exports, and respects people.

Guardrails (design.md): no person in a label or grouping; team numbers only for teams of at
least the minimum group size.
"""

from __future__ import annotations

import re

import pytest

from dashboards import build, recorded, selectors
from tests.dashboards import rules
from tests.dashboards.contract import (
    PROMETHEUS_OWN,
    SCRAPE_LABELS,
    contract_labels,
    faust_names,
    grouping_labels,
    metric_names,
    selected_labels,
)

DASHBOARD_QUERIES = [(f"{q.dashboard}: {q.panel}", q.expr) for q in build.all_queries()]
RULE_QUERIES = [(rule.get("alert") or rule["record"], rule["expr"]) for rule in rules.rules()]
EVERY_QUERY = DASHBOARD_QUERIES + RULE_QUERIES
# The clause as Grafana runs it, with All chosen: what every team view must carry.
TEAM_CLAUSE = build.fill(
    selectors.large_teams(selectors.TEAM, selectors.CAMPAIGN),
    {"campaign": selectors.ALL, "team": selectors.ALL},
)


def _ids(cases: list[tuple[str, str]]) -> list[str]:
    return [name for name, _ in cases]


@pytest.mark.parametrize(("where", "expr"), EVERY_QUERY, ids=_ids(EVERY_QUERY))
def test_every_metric_read_is_exported(where: str, expr: str) -> None:
    known = set(contract_labels()) | faust_names() | rules.recorded() | PROMETHEUS_OWN
    assert metric_names(expr) <= known, f"{where} reads {metric_names(expr) - known}"


@pytest.mark.parametrize(("where", "expr"), EVERY_QUERY, ids=_ids(EVERY_QUERY))
def test_matchers_use_labels_the_metric_has(where: str, expr: str) -> None:
    for name, labels in selected_labels(expr):
        if name in contract_labels():
            allowed = contract_labels()[name] | SCRAPE_LABELS
            assert labels <= allowed, f"{where}: {name} has no label {labels - allowed}"


def test_faust_metrics_appear_only_on_the_pipeline_dashboard() -> None:
    for query in build.all_queries():
        if any(name.startswith("faust_") for name in metric_names(query.expr)):
            assert query.dashboard == "floorpulse-pipeline", query.panel


@pytest.mark.parametrize(("where", "expr"), EVERY_QUERY, ids=_ids(EVERY_QUERY))
def test_no_query_names_a_person(where: str, expr: str) -> None:
    labels = grouping_labels(expr).union(*(found for _, found in selected_labels(expr)))
    assert not {label for label in labels if "agent" in label}, where


def test_no_legend_names_a_person() -> None:
    for dashboard in build.dashboards():
        for panel in dashboard.panels:
            for query in panel.queries:
                assert not re.search(r"\{\{\s*agent", query.legend), panel.title


@pytest.mark.parametrize(("where", "expr"), DASHBOARD_QUERIES, ids=_ids(DASHBOARD_QUERIES))
def test_team_views_carry_the_minimum_group_size(where: str, expr: str) -> None:
    rest = expr.replace(TEAM_CLAUSE, "")
    is_team_view = 'team=~"' in rest or "team" in grouping_labels(rest)
    if is_team_view:
        assert TEAM_CLAUSE in expr, f"{where} shows teams without the minimum group size"


def test_the_minimum_group_size_is_five() -> None:
    assert selectors.MIN_GROUP_SIZE == 5
    assert "floorpulse_agents" in TEAM_CLAUSE and ">= 5" in TEAM_CLAUSE


@pytest.mark.parametrize("alert", rules.alerts(), ids=lambda rule: rule["alert"])
def test_team_alerts_carry_the_minimum_group_size(alert: dict[str, str]) -> None:
    expr = " ".join(alert["expr"].split())
    if "team" in grouping_labels(expr) or alert["expr"].startswith("team:"):
        assert selectors.large_teams() in expr, f"{alert['alert']} lacks the minimum group size"


def test_every_recorded_name_the_dashboards_use_is_recorded() -> None:
    names = {v for k, v in vars(recorded).items() if k.isupper() and isinstance(v, str)}
    assert names <= rules.recorded()
    used = {name for q in build.all_queries() for name in metric_names(q.expr) if ":" in name}
    assert used <= names, "read recording rules through dashboards.recorded"
