"""Typed builders for the small part of Grafana's dashboard model floorpulse uses.

A `Dashboard` holds `Panel`s, each with `Query`s; `Dashboard.model()` is the JSON Grafana imports
(schema version 39, Grafana 11). Panels are laid out left to right, wrapping at Grafana's 24
columns, so a module lists panels in reading order and never computes coordinates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Literal

from dashboards import selectors

SCHEMA_VERSION: Final = 39
GRID_COLUMNS: Final = 24
DATASOURCE: Final = {"type": "prometheus", "uid": "${datasource}"}

Kind = Literal["timeseries", "stat", "bargauge"]
Json = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Query:
    """One PromQL expression of a panel.

    `rare` is empty when the query has data on any running floor; otherwise it says in which rare
    state the query has data at all (the end-to-end test lets such a query come back empty).
    """

    expr: str
    legend: str = ""
    rare: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """A marked level on a panel, such as the 3% abandon line: a reference, never a target.

    Values from it up take its color; a time series draws it as a dashed line.
    """

    value: float
    color: str = "orange"


@dataclass(frozen=True, slots=True)
class Panel:
    """A panel: a title, a description in words of care, and its queries."""

    title: str
    description: str
    queries: tuple[Query, ...]
    kind: Kind = "timeseries"
    unit: str = "short"
    width: int = 12
    height: int = 8
    marks: tuple[Mark, ...] = ()
    min: float | None = None
    max: float | None = None
    stacked: bool = False
    bars: bool = False
    interval: str = ""
    """Grafana's minimum step for the panel's queries, e.g. "1d" for one bar per day."""


@dataclass(frozen=True, slots=True)
class Dashboard:
    """A dashboard with a fixed uid, so links and provisioning never break on a rebuild."""

    uid: str
    title: str
    description: str
    tags: tuple[str, ...]
    panels: tuple[Panel, ...]
    time_from: str = "now-6h"
    refresh: str = "30s"

    def model(self) -> Json:
        return {
            "uid": self.uid,
            "title": self.title,
            "description": self.description,
            "tags": list(self.tags),
            "timezone": "utc",
            "editable": False,
            "graphTooltip": 1,
            "schemaVersion": SCHEMA_VERSION,
            "version": 1,
            "time": {"from": self.time_from, "to": "now"},
            "refresh": self.refresh,
            "templating": {"list": selectors.variables()},
            "annotations": {"list": []},
            "links": [
                {
                    "type": "dashboards",
                    "title": "floorpulse",
                    "tags": ["floorpulse"],
                    "asDropdown": True,
                    "includeVars": True,
                    "keepTime": True,
                }
            ],
            "panels": _laid_out(self.panels),
        }


def _laid_out(panels: tuple[Panel, ...]) -> list[Json]:
    models, x, y, row_height = [], 0, 0, 0
    for number, panel in enumerate(panels, start=1):
        if x + panel.width > GRID_COLUMNS:
            x, y, row_height = 0, y + row_height, 0
        model = _panel(panel, number)
        model["gridPos"] = {"h": panel.height, "w": panel.width, "x": x, "y": y}
        models.append(model)
        x, row_height = x + panel.width, max(row_height, panel.height)
    return models


def _panel(panel: Panel, number: int) -> Json:
    instant = panel.kind != "timeseries"
    model: Json = {
        "id": number,
        "type": panel.kind,
        "title": panel.title,
        "description": panel.description,
        "datasource": DATASOURCE,
        "targets": [
            {
                "refId": chr(ord("A") + i),
                "datasource": DATASOURCE,
                "editorMode": "code",
                "expr": query.expr,
                "legendFormat": query.legend or "__auto",
                "range": not instant,
                "instant": instant,
            }
            for i, query in enumerate(panel.queries)
        ],
        "fieldConfig": {"defaults": _defaults(panel), "overrides": []},
        "options": _options(panel),
    }
    if panel.interval:
        model["interval"] = panel.interval
    return model


def _defaults(panel: Panel) -> Json:
    steps: list[Json] = [{"color": "green", "value": None}]
    steps += [{"color": mark.color, "value": mark.value} for mark in panel.marks]
    defaults: Json = {
        "unit": panel.unit,
        "color": {"mode": "palette-classic" if panel.kind == "timeseries" else "thresholds"},
        "thresholds": {"mode": "absolute", "steps": steps},
    }
    if panel.min is not None:
        defaults["min"] = panel.min
    if panel.max is not None:
        defaults["max"] = panel.max
    if panel.kind == "timeseries":
        defaults["custom"] = {
            "drawStyle": "bars" if panel.bars else "line",
            "lineWidth": 1 if panel.bars else 2,
            "fillOpacity": 60 if panel.bars or panel.stacked else 10,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if panel.stacked else "none", "group": "A"},
            "thresholdsStyle": {"mode": "dashed" if panel.marks else "off"},
        }
    return defaults


def _options(panel: Panel) -> Json:
    if panel.kind == "timeseries":
        return {
            "legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "none"},
        }
    reduce = {"calcs": ["lastNotNull"], "fields": "", "values": False}
    if panel.kind == "stat":
        return {
            "reduceOptions": reduce,
            "colorMode": "value",
            "graphMode": "area",
            "justifyMode": "auto",
            "textMode": "auto",
            "orientation": "auto",
        }
    return {
        "reduceOptions": reduce,
        "displayMode": "gradient",
        "orientation": "horizontal",
        "showUnfilled": True,
        "valueMode": "color",
    }
