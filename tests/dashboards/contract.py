"""What the worker exports (metrics.md, Faust's sensor) and what a PromQL expression reads.

Exported series names: a counter as written in metrics.md (`_total`), a gauge as is, a histogram
as its `_bucket`, `_sum` and `_count`. Faust's sensor names come from Faust itself.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parents[2]
METRICS_MD: Final = ROOT / "tests" / "data" / "contract" / "metrics.md"
"""The project's copy of the contract's metrics (revision 1.1); tests/test_scenario_copies.py
keeps it equal to shared/contract/metrics.md."""
PACING: Final = {
    "floorpulse_pacing_advice_lines_per_agent": frozenset({"campaign"}),
    "floorpulse_pacing_advice_abandon_ratio": frozenset({"campaign"}),
    "floorpulse_pacing_advice_occupancy_ratio": frozenset({"campaign"}),
    "floorpulse_pacing_advice_limit": frozenset({"campaign", "kind"}),
}
"""Exported beyond metrics.md: the pacing advice (issue 17, docs/pacing.md), gauges with the
contract's labels, until the contract names them."""
PROMETHEUS_OWN: Final = frozenset({"up"})
SCRAPE_LABELS: Final = frozenset({"job", "instance"})

_ROW: Final = re.compile(
    r"^\| `(?P<name>floorpulse_\w+)(?:\{(?P<braces>[^}]*)\})?`"
    r"(?: \(labels? (?P<own>[^)]*)\))? \| (?P<type>counter|gauge|histogram) \|"
)
_TICKED: Final = re.compile(r"`(\w+)`")
_STRING: Final = re.compile(r'"(?:[^"\\]|\\.)*"')
_RANGE: Final = re.compile(r"\[[^\]]*\]")
_LABEL_LIST: Final = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_SELECTOR: Final = re.compile(r"([a-zA-Z_:][\w:]*)\s*\{([^}]*)\}")
_NAME: Final = re.compile(r"(?<![\w:.$])([a-zA-Z_:][\w:]*)(?![\w:]|\s*\()")
_KEYWORDS: Final = frozenset(
    {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right"}
    | {"bool", "offset", "inf", "nan", "le"}
)
_GROUPING: Final = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")


def metrics_md() -> str:
    if not METRICS_MD.exists():
        raise AssertionError(f"the metrics contract is missing: {METRICS_MD}")
    return METRICS_MD.read_text(encoding="utf-8")


@cache
def contract_labels() -> dict[str, frozenset[str]]:
    """Every exported floorpulse series name and its labels (scrape labels aside)."""
    exported: dict[str, frozenset[str]] = {}
    section: frozenset[str] = frozenset()
    for line in metrics_md().splitlines():
        if line.startswith("## "):
            section = frozenset(_TICKED.findall(line))
            continue
        row = _ROW.match(line)
        if row is None:
            continue
        own = frozenset(_TICKED.findall(row["own"] or "")) or section
        braces = frozenset(label.strip() for label in (row["braces"] or "").split(",") if label)
        labels, name = own | braces, row["name"]
        if row["type"] == "histogram":
            exported[f"{name}_bucket"] = labels | {"le"}
            exported[f"{name}_sum"] = labels
            exported[f"{name}_count"] = labels
        else:
            exported[name] = labels
    return exported | PACING


@cache
def faust_names() -> frozenset[str]:
    """The series Faust's Prometheus sensor exports with the worker's prefix `faust`."""
    from faust.sensors.prometheus import FaustMetrics
    from prometheus_client import CollectorRegistry

    registry = CollectorRegistry()
    FaustMetrics.create(registry, "faust")
    return frozenset(
        series for family in registry.collect() for series in series_names(family.name, family.type)
    )


def series_names(family: str, kind: str) -> set[str]:
    """The series a metric family of this type declares: counters with `_total`, histograms as
    `_bucket`, `_sum` and `_count`."""
    if kind == "counter":
        return {f"{family}_total"}
    if kind == "histogram":
        return {f"{family}_{part}" for part in ("bucket", "sum", "count")}
    return {family}


def metric_names(expr: str) -> set[str]:
    """The series names an expression reads (functions, keywords and label names left out)."""
    bare = _LABEL_LIST.sub(" ", _RANGE.sub(" ", _strip_selectors(_STRING.sub('""', expr))))
    return {name for name in _NAME.findall(bare) if name not in _KEYWORDS}


def selected_labels(expr: str) -> list[tuple[str, set[str]]]:
    """Each `name{...}` in the expression, with the label names its matchers use."""
    found = []
    for name, matchers in _SELECTOR.findall(_STRING.sub('""', expr)):
        labels = {m.split("=")[0].split("!")[0].strip() for m in matchers.split(",") if m.strip()}
        found.append((name, labels))
    return found


def grouping_labels(expr: str) -> set[str]:
    """Labels named in by/without/on/ignoring/group_left/group_right lists."""
    return {
        label.strip() for group in _GROUPING.findall(expr) for label in group.split(",") if label
    }


def _strip_selectors(expr: str) -> str:
    return re.sub(r"\{[^}]*\}", " ", expr)
