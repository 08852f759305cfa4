"""The one label selector of every dashboard: campaign and team variables, minimum group size.

Every query picks its series through these functions, so a variable is named in one place and
every team panel carries the same minimum-group clause (the alert rules carry it too; a test
checks that they spell it exactly as `large_teams()` does).
"""

from __future__ import annotations

from typing import Any, Final

MIN_GROUP_SIZE: Final = 5
"""Design guardrail 5: a team number shows only for teams of at least this many people present,
so that no number on a dashboard (or in an alert) can point at one person."""

CAMPAIGN: Final = 'campaign=~"$campaign"'
TEAM: Final = 'team=~"$team"'
ALL: Final = ".*"
"""What a variable stands for when "All" is chosen, so that `=~` matches every value."""
CAMPAIGNS: Final = '{__name__=~"floorpulse_calls_dialed_total|floorpulse_queue_calls_queued_total"}'
"""The series whose `campaign` values the campaign variable offers: campaigns that dial out and
campaigns with an inbound queue (an inbound-only queue dials nothing)."""


def select(metric: str, *matchers: str) -> str:
    """`metric{matchers}`, or the bare name when there are none."""
    return f"{metric}{{{', '.join(matchers)}}}" if matchers else metric


def by_campaign(metric: str, *matchers: str) -> str:
    """A campaign metric (no `team` label: the team variable cannot narrow it)."""
    return select(metric, CAMPAIGN, *matchers)


def by_team(metric: str, *matchers: str) -> str:
    """A team metric without a `campaign` label; `in_large_teams` narrows it to campaigns."""
    return select(metric, TEAM, *matchers)


def by_team_and_campaign(metric: str, *matchers: str) -> str:
    """An agent metric labelled with both `team` and `campaign`."""
    return select(metric, TEAM, CAMPAIGN, *matchers)


def large_teams(*matchers: str) -> str:
    """The teams with at least MIN_GROUP_SIZE people present (working or paused; logged-out
    people are not counted) among the series `matchers` select, as a vector by `team`."""
    present = select("floorpulse_agents", *matchers)
    return f"(sum by (team) ({present}) >= {MIN_GROUP_SIZE})"


def in_large_teams(expr: str) -> str:
    """`expr`, which must keep the `team` label, for the chosen teams of at least
    MIN_GROUP_SIZE people.

    The group is counted within the chosen campaigns too: a team split over two campaigns could
    otherwise show the one person it has on the chosen campaign. For team metrics that have no
    `campaign` label this join is also what narrows them to the chosen campaigns.
    """
    return f"({expr}) and on (team) {large_teams(TEAM, CAMPAIGN)}"


def variables() -> list[dict[str, Any]]:
    """Grafana's templating list: the Prometheus data source, then campaign and team."""
    return [
        {
            "name": "datasource",
            "label": "Data source",
            "type": "datasource",
            "query": "prometheus",
            "current": {},
            "hide": 0,
            "refresh": 1,
            "options": [],
        },
        _variable("campaign", "Campaign", f"label_values({CAMPAIGNS}, campaign)"),
        _variable("team", "Team", f"label_values({select('floorpulse_agents', CAMPAIGN)}, team)"),
    ]


def _variable(name: str, label: str, query: str) -> dict[str, Any]:
    return {
        "name": name,
        "label": label,
        "type": "query",
        "datasource": {"type": "prometheus", "uid": "${datasource}"},
        "query": query,
        "definition": query,
        "refresh": 2,
        "multi": True,
        "includeAll": True,
        "allValue": ALL,
        "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
        "sort": 1,
        "regex": "",
        "hide": 0,
        "options": [],
    }
