"""Render every dashboard to Grafana JSON, and list every panel query with its variables filled."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Final, NamedTuple

from dashboards import compliance, live_floor, pipeline, wellbeing
from dashboards.panels import Dashboard
from dashboards.selectors import ALL

MODULES: Final = (live_floor, wellbeing, compliance, pipeline)
DEFAULT_OUT: Final = Path(__file__).resolve().parent / "json"
"""The committed copy, which Grafana's file provisioning mounts (deploy/compose.yaml)."""

_VARIABLE: Final = re.compile(r"\$\{(\w+)\}|\$(\w+)")


class PanelQuery(NamedTuple):
    """One query of one panel, ready for Prometheus' HTTP API."""

    dashboard: str
    """The dashboard's uid."""
    panel: str
    """The panel's title."""
    expr: str
    rare: bool
    """True when the query has data only in a rare state; `reason` says which."""
    reason: str


def dashboards() -> tuple[Dashboard, ...]:
    return tuple(module.dashboard() for module in MODULES)


def file_name(dashboard: Dashboard) -> str:
    return f"{dashboard.uid}.json"


def render(dashboard: Dashboard) -> str:
    """The JSON text, the same bytes on every machine (key order is the builder's)."""
    return json.dumps(dashboard.model(), indent=2, ensure_ascii=False) + "\n"


def rendered() -> dict[str, str]:
    """File name to JSON text, for every dashboard."""
    return {file_name(d): render(d) for d in dashboards()}


def write(out: Path) -> list[Path]:
    """Write every dashboard's JSON into `out` (created if missing); return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in rendered().items():
        path = out / name
        # Always "\n", so the committed files are the same whichever system regenerates them.
        path.write_text(text, encoding="utf-8", newline="\n")
        written.append(path)
    return written


def all_queries(
    campaign: str = ALL, team: str = ALL, rate_interval: str = "1m"
) -> list[PanelQuery]:
    """Every panel query of every dashboard, with the variables filled as Grafana would.

    `campaign` and `team` are regular expressions, as Grafana writes a multi-value selection
    (".*" for All); `rate_interval` stands for Grafana's `$__rate_interval`.
    """
    values = {"campaign": campaign, "team": team, "__rate_interval": rate_interval}
    return [
        PanelQuery(d.uid, panel.title, fill(query.expr, values), bool(query.rare), query.rare)
        for d in dashboards()
        for panel in d.panels
        for query in panel.queries
    ]


def fill(expr: str, values: Mapping[str, str]) -> str:
    """`expr` with `$name` and `${name}` replaced; a variable without a value is an error."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        if name not in values:
            raise KeyError(f"no value for the dashboard variable ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(value, expr)
