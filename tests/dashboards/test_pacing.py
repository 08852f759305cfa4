"""The pacing advice on the live floor: the pace beside the advice, per campaign, and the alert
reading the very series the panel shows, at the recorded line."""

from __future__ import annotations

import re

from dashboards import live_floor, recorded
from tests.dashboards import rules
from tests.dashboards.contract import PACING, contract_labels, metric_names

PANELS = {
    panel.title: panel for panel in (live_floor.pacing_panel(), live_floor.advised_pace_panel())
}


def test_the_live_floor_shows_the_pace_beside_the_advice() -> None:
    on_the_floor = {panel.title for panel in live_floor.dashboard().panels}
    assert set(PANELS) <= on_the_floor
    shown = set().union(*(metric_names(q.expr) for p in PANELS.values() for q in p.queries))
    assert shown == {
        recorded.LINES_PER_READY,
        "floorpulse_pacing_advice_lines_per_agent",
        "floorpulse_pacing_advice_abandon_ratio",
        "floorpulse_pacing_advice_occupancy_ratio",
    }


def test_pacing_panels_are_per_campaign() -> None:
    for title, panel in PANELS.items():
        for query in panel.queries:
            assert 'campaign=~"$campaign"' in query.expr, title
            assert query.legend.startswith("{{campaign}}"), title


def test_the_advice_is_exported_with_campaign_labels_only() -> None:
    for name, labels in PACING.items():
        assert contract_labels()[name] == labels
        assert labels <= {"campaign", "kind"}


def test_the_pace_is_lines_ringing_per_person_ready() -> None:
    (rule,) = [r for r in rules.rules() if r.get("record") == recorded.LINES_PER_READY]
    assert 'floorpulse_calls_active{phase="dialing"}' in rule["expr"]
    assert 'floorpulse_agents{state="ready"}' in rule["expr"]
    assert "> 0)" in rule["expr"], "no pace for a campaign with nobody ready"


def test_the_pacing_alert_reads_the_panels_series_at_its_line() -> None:
    (alert,) = [a for a in rules.alerts() if a["alert"] == "CampaignPacedAboveAdvice"]
    (pace, advice) = PANELS["Pace that leaves room to breathe"].queries
    assert metric_names(alert["expr"]) == metric_names(pace.expr) | metric_names(advice.expr)
    line = re.search(r"> ([\d.]+)\s*$", alert["expr"])
    assert line is not None and float(line[1]) == recorded.PACE_ABOVE_ADVICE
    assert alert["for"] == "30m"
    words = alert["annotations"]["summary"] + alert["annotations"]["description"]
    assert "room to breathe" in words and "nobody has to hurry" in words
