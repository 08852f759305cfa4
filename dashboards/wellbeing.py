"""Wellbeing, for managers: are teams getting real breaks and breathing room? Teams, not persons.

Every panel reads team metrics through `in_large_teams`, so teams under the minimum group size
never show, and aggregates no finer than the team: nothing here lists, ranks or compares people.
"""

from __future__ import annotations

from dashboards import recorded
from dashboards.panels import Dashboard, Mark, Panel, Query
from dashboards.promql import rate, ratio, total
from dashboards.selectors import MIN_GROUP_SIZE, by_team, by_team_and_campaign, in_large_teams

UID = "floorpulse-wellbeing"
OCCUPANCY_GUIDE = 0.85
"""Occupancy above which most planners see people tire over a shift (the alert waits for 90%)."""
TEAM_BREAK_SHARE = 0.5
"""The share of a team past 90 minutes without a real break at which the alert suggests a break
(deploy/prometheus/rules/alerts.yml)."""


def dashboard() -> Dashboard:
    return Dashboard(
        uid=UID,
        title="floorpulse: wellbeing",
        description=(
            "Breaks, breathing room and check-ins by team, for the people who look after the "
            f"floor. Teams under {MIN_GROUP_SIZE} people present do not show."
        ),
        tags=("floorpulse", "wellbeing"),
        panels=(
            Panel(
                title="Team occupancy",
                description=(
                    "Share of working time spent on calls and wrap-up over the last 15 minutes "
                    "(pauses are not working time). Above the 85% line people have little time "
                    "between calls; a lighter pace helps."
                ),
                queries=(Query(in_large_teams(by_team(recorded.OCCUPANCY)), "{{team}}"),),
                unit="percentunit",
                min=0,
                max=1,
                marks=(Mark(OCCUPANCY_GUIDE, "orange"),),
            ),
            Panel(
                title="Working without a real break",
                description=(
                    "People working now whose stretch without a real break (five minutes or more "
                    "off the phone) has lasted over 60, 90 or 120 minutes. A real break is the "
                    "kindest thing to offer them."
                ),
                queries=(
                    Query(
                        total(
                            in_large_teams(by_team("floorpulse_agents_without_break")),
                            "longer_than",
                        ),
                        "over {{longer_than}}",
                    ),
                ),
            ),
            Panel(
                title="Share of each team past 90 minutes without a real break",
                description=(
                    "When half of a team's working people have gone 90 minutes without a real "
                    "break (the line), the alert suggests a team break."
                ),
                queries=(Query(in_large_teams(by_team(recorded.WITHOUT_BREAK_90M)), "{{team}}"),),
                unit="percentunit",
                min=0,
                max=1,
                marks=(Mark(TEAM_BREAK_SHARE, "orange"),),
            ),
            Panel(
                title="Check-ins suggested, last hour",
                description=(
                    "Check-ins the floor suggested to team leads in the last hour, by kind: a "
                    "long stretch, a busy hour, a run of hard calls, a long shift. Each is an "
                    "invitation to offer support, never a fault."
                ),
                queries=(Query(_checkins_opened("1h"), "{{kind}}"),),
                bars=True,
            ),
            Panel(
                title="Check-ins open now",
                description=(
                    "Check-ins whose cause still lasts, by kind. They close by themselves when "
                    "the person has a real break or the shift ends."
                ),
                queries=(
                    Query(
                        total(in_large_teams(by_team("floorpulse_checkins_open")), "kind"),
                        "{{kind}}",
                    ),
                ),
                kind="stat",
            ),
            Panel(
                title="Breaks per agent-hour, by reason",
                description=(
                    "Pauses that ended in the last hour, per hour people were logged in: how "
                    "often the floor gets to step away."
                ),
                queries=(
                    Query(
                        total(_breaks("count"), "reason")
                        # Seconds logged in per second: the number of people, on average.
                        + " * 3600 / ignoring (reason) group_left "
                        + total(_logged_in()),
                        "{{reason}}",
                    ),
                ),
                stacked=True,
            ),
            Panel(
                title="Break length, by reason",
                description="Mean length of the pauses that ended in the last hour.",
                queries=(Query(ratio(_breaks("sum"), _breaks("count"), "reason"), "{{reason}}"),),
                unit="s",
            ),
            Panel(
                title="Long shifts",
                description=(
                    "People whose shift has passed nine hours, now and in the last day. A long "
                    "shift is worth a word about getting home and resting."
                ),
                queries=(
                    Query(
                        total(
                            in_large_teams(by_team("floorpulse_checkins_open", 'kind="long_shift"'))
                        ),
                        "past nine hours now",
                    ),
                    Query(_checkins_opened("24h", 'kind="long_shift"', by=""), "in the last day"),
                ),
                kind="stat",
            ),
        ),
    )


def _breaks(part: str) -> str:
    return in_large_teams(rate(by_team(f"floorpulse_break_seconds_{part}"), "1h"))


def _logged_in() -> str:
    return in_large_teams(rate(by_team_and_campaign("floorpulse_agent_state_seconds_total"), "1h"))


def _checkins_opened(window: str, *matchers: str, by: str = "kind") -> str:
    opened = by_team("floorpulse_checkins_opened_total", *matchers)
    return total(in_large_teams(f"increase({opened}[{window}])"), by)
