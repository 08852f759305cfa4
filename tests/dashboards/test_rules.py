"""The alert rules: complete, spoken as care, and each one tested firing and quiet by promtool."""

from __future__ import annotations

import re
from collections import defaultdict

import pytest

from tests.dashboards import rules
from tests.dashboards.contract import ROOT

# The words of blame and ranking the humane guardrails keep out (shared/hooks/before-stop).
BLAME = re.compile(
    r"violation|overage|offender|worst|laz(y|iness)|penalt|punish|rank(ing)?\b|leaderboard",
    re.IGNORECASE,
)
AUDIENCES = {"floor", "compliance", "engineering"}


@pytest.mark.parametrize("alert", rules.alerts(), ids=lambda rule: rule["alert"])
def test_every_alert_says_who_it_is_for_and_what_would_help(alert: dict[str, object]) -> None:
    labels, annotations = alert["labels"], alert["annotations"]
    assert isinstance(labels, dict) and isinstance(annotations, dict)
    assert labels["severity"] in {"info", "warning", "critical"}
    assert labels["audience"] in AUDIENCES
    assert annotations["summary"] and len(annotations["description"]) > 40


def test_every_alert_is_tested_firing_and_quiet() -> None:
    cases: defaultdict[str, set[bool]] = defaultdict(set)
    for path in rules.TEST_FILES:
        document = rules.load(path)
        assert document["rule_files"], path
        for test in document["tests"]:
            for case in test.get("alert_rule_test", []):
                cases[case["alertname"]].add(bool(case.get("exp_alerts")))
    untested = {
        alert["alert"]: sorted(cases[alert["alert"]])
        for alert in rules.alerts()
        if cases[alert["alert"]] != {True, False}
    }
    assert not untested, f"alerts lacking a firing or a quiet case: {untested}"


def test_the_alerts_the_issue_asks_for_exist() -> None:
    names = {alert["alert"] for alert in rules.alerts()}
    assert names >= {
        "CampaignAbandonNearingLine",
        "CampaignAbandonOverLine",
        "CampaignAbandonSpike",
        "TeamBreakSuggested",
        "TeamOccupancyHigh",
        "QueueServiceLevelLow",
        "CampaignPacedAboveAdvice",
        "PipelineFallingBehind",
        "DeadLettersRising",
        "WorkerDown",
    }


def test_no_words_of_blame_in_dashboards_rules_or_deploy_files() -> None:
    paths = [
        *(ROOT / "dashboards").rglob("*.py"),
        *(ROOT / "dashboards" / "json").glob("*.json"),
        *(ROOT / "deploy" / "prometheus").rglob("*.yml"),
        *(ROOT / "deploy" / "grafana").rglob("*.yml"),
    ]
    assert len(paths) > 10
    for path in paths:
        found = BLAME.search(path.read_text(encoding="utf-8"))
        assert found is None, f"{path.relative_to(ROOT)} says {found.group()!r}: speak of care"
