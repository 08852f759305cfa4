"""The example floors (tests/data/scenarios, copied from the contract's shared/scenarios) and how
reports are compared (report.md: numbers within a relative 1e-9, key order ignored)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parent / "data" / "scenarios"
SHARED_SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "scenarios"
LOG_SUFFIXES = (".jsonl", ".jsonl.gz")


def scenario_logs() -> list[Path]:
    """Every example log, of every contract revision, each beside its expected report."""
    logs = sorted(p for p in SCENARIOS.rglob("*") if p.name.endswith(LOG_SUFFIXES))
    assert logs, f"no logs in {SCENARIOS}"
    return logs


def scenario_name(log: Path) -> str:
    """`inbound` for `revision-1.1/inbound.jsonl`: the log's name without its suffixes."""
    return log.name.split(".")[0]


def expected_report_path(log: Path) -> Path:
    return log.with_name(scenario_name(log) + ".report.json")


def first_difference(actual: Any, expected: Any, path: str = "$") -> str | None:
    """The path of the first difference between two reports, or None when they agree."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict) or actual.keys() != expected.keys():
            return f"{path}: keys {sorted(actual) if isinstance(actual, dict) else actual!r}"
        for key in expected:
            found = first_difference(actual[key], expected[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(expected, float) or (
        isinstance(expected, int) and not isinstance(expected, bool) and isinstance(actual, float)
    ):
        if isinstance(actual, int | float) and math.isclose(actual, expected, rel_tol=1e-9):
            return None
        return f"{path}: {actual!r} != {expected!r}"
    if actual != expected or type(actual) is not type(expected):
        return f"{path}: {actual!r} != {expected!r}"
    return None
