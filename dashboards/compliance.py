"""Compliance: each campaign's abandoned calls per day and over 30 days, against the 3% line."""

from __future__ import annotations

from dashboards import recorded
from dashboards.panels import Dashboard, Mark, Panel, Query
from dashboards.promql import ratio
from dashboards.selectors import by_campaign

UID = "floorpulse-compliance"
NEARING = 0.025
"""The 30-day abandon ratio at which the "nearing the line" alert speaks (alerts.yml)."""
LINE = (Mark(recorded.ABANDON_LINE, "red"),)


def dashboard() -> Dashboard:
    day = by_campaign(recorded.ABANDON, 'window="24h"')
    thirty_days = by_campaign(recorded.ABANDON, 'window="30d"')
    return Dashboard(
        uid=UID,
        title="floorpulse: compliance",
        description=(
            "Abandoned calls per campaign against the 3% line: per UTC day and over the rolling "
            "30 days the rule is measured on. Campaigns only: the team variable does not apply."
        ),
        tags=("floorpulse", "compliance"),
        time_from="now-30d",
        refresh="5m",
        panels=(
            Panel(
                title="Abandoned calls per day",
                description=(
                    "Each bar is one UTC day: the calls abandoned per call a person answered, "
                    "as the worker counted them in the 24 hours up to that midnight. The red "
                    "line is 3%."
                ),
                queries=(Query(f"last_over_time({day}[1d])", "{{campaign}}"),),
                unit="percentunit",
                min=0,
                marks=LINE,
                bars=True,
                interval="1d",
                width=24,
            ),
            Panel(
                title="Abandoned calls, rolling 30 days",
                description=(
                    "Calls abandoned per call a person answered over the last 30 days, the "
                    "window the 3% rule is measured on. Slowing the dialer early keeps a "
                    "campaign comfortably under the line."
                ),
                queries=(Query(thirty_days, "{{campaign}}"),),
                unit="percentunit",
                min=0,
                marks=LINE,
                width=16,
            ),
            Panel(
                title="Share of the 3% line used, 30 days",
                description=(
                    "How much of the 3% allowance each campaign has used over 30 days. Amber "
                    "from 2.5%, when the alert suggests easing the pace; red at the line."
                ),
                queries=(Query(f"{thirty_days} / {recorded.ABANDON_LINE}", "{{campaign}}"),),
                kind="bargauge",
                unit="percentunit",
                min=0,
                max=1,
                marks=(Mark(round(NEARING / recorded.ABANDON_LINE, 3), "orange"), Mark(1.0, "red")),
                width=8,
            ),
            Panel(
                title="Drops per call a person answered, last 24 hours (the dialer's own figure)",
                description=(
                    "The figure VICIdial shows as its drop percentage: calls answered and "
                    "dropped with no one free, per call a person answered (drops included). "
                    "It leaves out the late connects the two-second rule counts, so it reads "
                    "below the abandoned calls above; shown beside them for the floors used "
                    "to it."
                ),
                queries=(
                    Query(
                        ratio(
                            f"increase({by_campaign('floorpulse_calls_dropped_total')}[24h])",
                            "increase("
                            + by_campaign("floorpulse_calls_answered_total", 'answered_by="human"')
                            + "[24h])",
                            "campaign",
                        ),
                        "{{campaign}}",
                    ),
                ),
                unit="percentunit",
                min=0,
                marks=LINE,
                width=24,
            ),
        ),
    )
