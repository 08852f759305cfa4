"""promtool on the Prometheus config, the rules, their unit tests and every dashboard query.

These need `promtool` (Debian: `apt-get install prometheus`) and fail, never skip, without it.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from dashboards.build import all_queries
from tests.dashboards.rules import PROMETHEUS, RULE_FILES, TEST_FILES
from tests.integration.prometheus import installed


@pytest.fixture(scope="module")
def promtool() -> str:
    return installed("promtool")


def run(promtool: str, *args: str | Path) -> str:
    done = subprocess.run(
        [promtool, *map(str, args)],
        cwd=PROMETHEUS,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    return output


def test_the_config_is_valid(promtool: str) -> None:
    output = run(promtool, "check", "config", "prometheus.yml")
    assert f"{len(RULE_FILES)} rule files found" in output


def test_the_rules_are_valid(promtool: str) -> None:
    assert RULE_FILES
    run(promtool, "check", "rules", *RULE_FILES)


def test_the_rules_pass_their_unit_tests(promtool: str) -> None:
    assert TEST_FILES
    output = run(promtool, "test", "rules", *TEST_FILES)
    assert "FAILED" not in output


def test_every_dashboard_query_parses(promtool: str, tmp_path: Path) -> None:
    # promtool has no "check expression": each query becomes a recording rule it parses.
    queries = all_queries()
    group = {
        "name": "dashboard-queries",
        "rules": [
            {"record": f"dashboard_query_{i}", "expr": q.expr} for i, q in enumerate(queries)
        ],
    }
    path = tmp_path / "dashboard-queries.yml"
    path.write_text(yaml.safe_dump({"groups": [group]}), encoding="utf-8")
    output = run(promtool, "check", "rules", path)
    assert f"{len(queries)} rules found" in output
