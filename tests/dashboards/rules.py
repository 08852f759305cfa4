"""The Prometheus rule files and their promtool tests, read as data."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any, Final

import yaml

from tests.dashboards.contract import ROOT

PROMETHEUS: Final = ROOT / "deploy" / "prometheus"
RULE_FILES: Final = tuple(sorted((PROMETHEUS / "rules").glob("*.yml")))
TEST_FILES: Final = tuple(sorted((PROMETHEUS / "tests").glob("*.test.yml")))


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@cache
def rules() -> tuple[dict[str, Any], ...]:
    return tuple(rule for path in RULE_FILES for g in load(path)["groups"] for rule in g["rules"])


def alerts() -> list[dict[str, Any]]:
    return [rule for rule in rules() if "alert" in rule]


def recorded() -> set[str]:
    return {rule["record"] for rule in rules() if "record" in rule}
