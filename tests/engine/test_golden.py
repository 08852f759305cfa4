"""Golden reports: every example floor in shared/scenarios gives its expected report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from streams.analyze import analyze
from streams.logfile import open_log
from tests.engine.builders import first_difference

SCENARIOS = Path(__file__).resolve().parents[3] / "shared" / "scenarios"
LOG_SUFFIXES = (".jsonl", ".jsonl.gz")


def _scenario_logs() -> list[Path]:
    if not SCENARIOS.is_dir():
        return []
    return sorted(p for p in SCENARIOS.iterdir() if p.name.endswith(LOG_SUFFIXES))


def _name(log: Path) -> str:
    for suffix in LOG_SUFFIXES[::-1]:
        if log.name.endswith(suffix):
            return log.name[: -len(suffix)]
    raise AssertionError(log)


def test_scenarios_are_present() -> None:
    assert SCENARIOS.is_dir(), f"shared scenarios not found at {SCENARIOS}"
    logs = _scenario_logs()
    assert logs, f"no scenario logs (*.jsonl, *.jsonl.gz) in {SCENARIOS}"
    for log in logs:
        expected = SCENARIOS / f"{_name(log)}.report.json"
        assert expected.is_file(), f"{log.name} has no expected report {expected.name}"


@pytest.mark.parametrize("log", _scenario_logs(), ids=_name)
def test_scenario_report(log: Path) -> None:
    expected = json.loads((SCENARIOS / f"{_name(log)}.report.json").read_text(encoding="utf-8"))
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
