"""The dashboards as built: committed JSON in step with the code, fixed uids, complete panels."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from dashboards import build
from dashboards.panels import GRID_COLUMNS, Dashboard
from dashboards.selectors import ALL

COMMITTED = build.DEFAULT_OUT


def test_committed_json_is_what_the_code_builds() -> None:
    expected = build.rendered()
    committed = {p.name: p.read_text(encoding="utf-8") for p in COMMITTED.glob("*.json")}
    assert sorted(committed) == sorted(expected), (
        "dashboards/json holds other files than the code builds: run `floorpulse dashboards "
        "build` and delete files of dashboards that no longer exist"
    )
    drifted = [name for name, text in expected.items() if committed[name] != text]
    assert not drifted, f"{drifted} drifted from the code: run `floorpulse dashboards build`"


def test_uids_are_the_modules_fixed_ones_and_unique() -> None:
    uids = [module.dashboard().uid for module in build.MODULES]
    assert uids == [module.UID for module in build.MODULES]
    assert len(set(uids)) == len(uids) == 4
    for uid in uids:
        # Grafana's limit for a uid, and characters safe in a URL.
        assert len(uid) <= 40 and uid.replace("-", "").isalnum(), uid


@pytest.mark.parametrize("dashboard", build.dashboards(), ids=lambda d: d.uid)
def test_every_dashboard_has_campaign_and_team_variables(dashboard: Dashboard) -> None:
    model = dashboard.model()
    variables = {v["name"]: v for v in model["templating"]["list"]}
    for name in ("campaign", "team"):
        assert variables[name]["multi"] and variables[name]["includeAll"]
        assert variables[name]["allValue"] == ALL
    assert "floorpulse" in model["tags"] and len(model["tags"]) >= 2


@pytest.mark.parametrize("dashboard", build.dashboards(), ids=lambda d: d.uid)
def test_every_panel_has_a_title_a_description_and_queries(dashboard: Dashboard) -> None:
    panels = dashboard.model()["panels"]
    assert panels
    assert len({p["id"] for p in panels}) == len(panels)
    assert len({p["title"] for p in panels}) == len(panels), "titles name panels in the e2e test"
    for panel in panels:
        assert panel["title"].strip() and len(panel["description"]) > 20, panel["title"]
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            assert target["expr"].strip(), panel["title"]
            assert target["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= GRID_COLUMNS, panel["title"]


def test_rare_queries_say_why() -> None:
    for query in build.all_queries():
        assert query.rare == bool(query.reason), query.panel
    assert any(q.rare for q in build.all_queries())


def test_all_queries_fills_every_variable() -> None:
    queries = build.all_queries(campaign="campaign-01|campaign-02", team="team-01")
    assert len(queries) == sum(len(p.queries) for d in build.dashboards() for p in d.panels)
    for query in queries:
        assert "$" not in query.expr, query
    assert any('campaign=~"campaign-01|campaign-02"' in q.expr for q in queries)
    assert any('team=~"team-01"' in q.expr for q in queries)


def test_fill_names_a_variable_it_has_no_value_for() -> None:
    with pytest.raises(KeyError, match=r"\$nobody"):
        build.fill('x{a="$nobody"}', {})


def test_build_command_writes_every_dashboard(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "streams.cli", "dashboards", "build", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    written = {p.name: p.read_text(encoding="utf-8") for p in tmp_path.iterdir()}
    assert written == build.rendered()
    for text in written.values():
        json.loads(text)
