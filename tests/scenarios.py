"""Where the shared example logs live, and how reports are compared (report.md: numbers within
a relative 1e-9, key order ignored)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "scenarios"


def scenario_logs() -> list[Path]:
    """Every example log beside its expected report; fails loudly when shared/ is missing."""
    if not SCENARIOS.is_dir():
        raise FileNotFoundError(f"shared scenarios not found at {SCENARIOS}")
    logs = sorted(p for p in SCENARIOS.iterdir() if p.name.endswith((".jsonl", ".jsonl.gz")))
    assert logs, f"no logs in {SCENARIOS}"
    return logs


def expected_report_path(log: Path) -> Path:
    return log.with_name(log.name.split(".")[0] + ".report.json")


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
