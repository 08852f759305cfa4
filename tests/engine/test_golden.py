"""Golden reports: every example floor gives its expected report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.analyze import analyze
from streams.logfile import open_log
from tests.engine.builders import first_difference
from tests.scenarios import expected_report_path, scenario_logs, scenario_name


def test_every_log_has_its_report() -> None:
    for log in scenario_logs():
        assert expected_report_path(log).is_file(), f"{log.name} has no expected report"


def test_revision_1_1_is_among_them() -> None:
    assert "inbound" in {scenario_name(log) for log in scenario_logs()}


@pytest.mark.parametrize("log", scenario_logs(), ids=scenario_name)
def test_scenario_report(log: Path) -> None:
    expected = json.loads(expected_report_path(log).read_text(encoding="utf-8"))
    with open_log(str(log)) as lines:
        actual = analyze(lines)
    difference = first_difference(actual, expected)
    assert difference is None, f"{log.name}: {difference}"


def test_first_difference_names_the_path() -> None:
    expected = {"a": {"b": [1, {"c": 0.5}]}, "n": None}
    assert first_difference({"n": None, "a": {"b": [1, {"c": 0.5 + 1e-12}]}}, expected) is None
    assert first_difference({"a": {"b": [1, {"c": 0.6}]}, "n": None}, expected) == (
        "$.a.b[1].c: 0.6 != expected 0.5"
    )
    assert first_difference({"a": {"b": [1]}, "n": None}, expected) == (
        "$.a.b: length 1 != expected 2"
    )
    assert first_difference({"a": {"b": [1, {"c": 0.5}]}, "n": 0}, expected) == (
        "$.n: 0 != expected None"
    )
    assert first_difference({"a": {"b": [1, {"c": 0.5}]}}, expected) == "$: missing keys ['n']"
    assert first_difference({"x": 1, "y": 2.0}, {"x": 1.0, "y": 2}) is None
