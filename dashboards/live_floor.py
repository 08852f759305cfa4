"""Live floor, for operations: who is free, how the dialers pace beside the pace that leaves people
room to breathe, the 3% abandon line, and the callers waiting in the inbound queues."""

from __future__ import annotations

from dashboards import recorded
from dashboards.panels import Dashboard, Mark, Panel, Query
from dashboards.promql import quantile, rate, ratio, total
from dashboards.selectors import by_campaign, by_team, by_team_and_campaign, in_large_teams

UID = "floorpulse-live-floor"


def dashboard() -> Dashboard:
    return Dashboard(
        uid=UID,
        title="floorpulse: live floor",
        description=(
            "The floor now: people by state, the dialers' pace, abandoned calls and the callers "
            "waiting in the inbound queues."
        ),
        tags=("floorpulse", "operations"),
        panels=(
            Panel(
                title="People by state",
                description=(
                    "How many people are ready, on a call, wrapping up or paused, in teams of at "
                    "least five. A floor with nobody ready has no breathing room."
                ),
                queries=(
                    Query(
                        total(in_large_teams(by_team_and_campaign("floorpulse_agents")), "state"),
                        "{{state}}",
                    ),
                ),
                stacked=True,
                width=8,
            ),
            Panel(
                title="Paused, by reason",
                description=(
                    "People paused now, by the reason they gave: breaks, lunch, prayer, training "
                    "and the rest, in teams of at least five. Pauses are part of a healthy shift."
                ),
                queries=(
                    Query(
                        total(in_large_teams(by_team("floorpulse_agents_paused")), "reason"),
                        "{{reason}}",
                    ),
                ),
                stacked=True,
                width=8,
            ),
            Panel(
                title="Calls now, by phase",
                description=(
                    "Calls dialing (ringing out), waiting (a person answered and waits for "
                    "someone free) and talking. Waiting calls are people on hold in silence."
                ),
                queries=(
                    Query(total(by_campaign("floorpulse_calls_active"), "phase"), "{{phase}}"),
                ),
                stacked=True,
                width=8,
            ),
            Panel(
                title="Dials and answers per minute",
                description=(
                    "Lines the dialers placed, and calls a person or a machine answered, per "
                    "minute over the last 5 minutes."
                ),
                queries=(
                    Query(
                        total(rate(by_campaign("floorpulse_calls_dialed_total"), "5m"), "campaign")
                        + " * 60",
                        "{{campaign}} dials",
                    ),
                    Query(
                        total(
                            rate(by_campaign("floorpulse_calls_answered_total"), "5m"),
                            "campaign, answered_by",
                        )
                        + " * 60",
                        "{{campaign}} answered by a {{answered_by}}",
                    ),
                ),
            ),
            Panel(
                title="Answer ratio",
                description=(
                    "Share of dials a person answered, over the last 15 minutes: it sets how "
                    "many lines the dialer needs for each free person."
                ),
                queries=(
                    Query(
                        ratio(
                            rate(
                                by_campaign(
                                    "floorpulse_calls_answered_total", 'answered_by="human"'
                                ),
                                "15m",
                            ),
                            rate(by_campaign("floorpulse_calls_dialed_total"), "15m"),
                            "campaign",
                        ),
                        "{{campaign}}",
                    ),
                ),
                unit="percentunit",
                min=0,
            ),
            Panel(
                title="Lines in use per ready person",
                description=(
                    "Lines ringing or holding a person who answered, per person ready to take a "
                    "call, both averaged over 5 minutes. Higher means the dialer paces ahead of "
                    "the people: more waiting in silence, more abandoned calls."
                ),
                queries=(
                    Query(
                        ratio(
                            "avg_over_time("
                            + by_campaign("floorpulse_calls_active", 'phase=~"dialing|waiting"')
                            + "[5m])",
                            "avg_over_time("
                            + by_campaign("floorpulse_agents", 'state="ready"')
                            + "[5m])",
                            "campaign",
                        ),
                        "{{campaign}}",
                    ),
                ),
            ),
            pacing_panel(),
            Panel(
                title="Abandoned calls: 15 minutes, 24 hours, 30 days",
                description=(
                    "Calls answered by a person that nobody took in time (dropped, or connected "
                    "more than two seconds later), per call a person answered. The red line is "
                    "3%, the limit over 30 days: when a campaign nears it, slow its dialer."
                ),
                queries=(
                    Query(by_campaign(recorded.ABANDON_15M), "{{campaign}} 15 min"),
                    Query(by_campaign(recorded.ABANDON, 'window="24h"'), "{{campaign}} 24 h"),
                    Query(by_campaign(recorded.ABANDON, 'window="30d"'), "{{campaign}} 30 days"),
                ),
                unit="percentunit",
                min=0,
                marks=(Mark(recorded.ABANDON_LINE, "red"),),
                width=24,
            ),
            Panel(
                title="Talk time",
                description="Median and mean length of calls that ended in the last 15 minutes.",
                queries=(
                    Query(
                        quantile(
                            0.5,
                            rate(by_campaign("floorpulse_call_talk_seconds_bucket"), "15m"),
                            "campaign",
                        ),
                        "{{campaign}} median",
                    ),
                    Query(
                        ratio(
                            rate(by_campaign("floorpulse_call_talk_seconds_sum"), "15m"),
                            rate(by_campaign("floorpulse_call_talk_seconds_count"), "15m"),
                            "campaign",
                        ),
                        "{{campaign}} mean",
                    ),
                ),
                unit="s",
            ),
            Panel(
                title="The wait between calls",
                description=(
                    "How long people were ready before their next call came, over the last 15 "
                    "minutes, in teams of at least five: the breathing room between calls. Near "
                    "zero all the time means a pace with no room to breathe."
                ),
                queries=(
                    Query(quantile(0.5, _waits("bucket"), "campaign"), "{{campaign}} median"),
                    Query(ratio(_waits("sum"), _waits("count"), "campaign"), "{{campaign}} mean"),
                ),
                unit="s",
            ),
            advised_pace_panel(),
            *queue_panels(),
        ),
    )


def pacing_panel() -> Panel:
    """The pace the dialers ring at beside the pacing advice (docs/pacing.md)."""
    return Panel(
        title="Pace that leaves room to breathe",
        description=(
            "Lines ringing for each person ready, over 15 minutes, beside the pacing advice: the "
            "most lines that keep abandoned calls under 2% of those people answer and time on "
            "calls and wrap-up at most 85% of working time, so that everyone has a moment between "
            "calls. Well above the advice for half an hour, an alert suggests easing the dialer: "
            "the dialer slows down, nobody has to hurry."
        ),
        queries=(
            Query(by_campaign(recorded.LINES_PER_READY), "{{campaign}} now"),
            Query(_advice("lines_per_agent"), "{{campaign}} advised"),
        ),
        min=0,
    )


def advised_pace_panel() -> Panel:
    """What the advice expects at its pace."""
    return Panel(
        title="At the advised pace",
        description=(
            "What the pacing advice expects at its pace, from each campaign's last hour: abandoned "
            "calls per call a person answers (the advice keeps them under 2%), and the share of "
            "working time on calls and wrap-up (at most 85%, the rest is time between calls)."
        ),
        queries=(
            Query(_advice("abandon_ratio"), "{{campaign}} abandoned"),
            Query(_advice("occupancy_ratio"), "{{campaign}} on calls"),
        ),
        unit="percentunit",
        min=0,
        max=1,
    )


def _advice(part: str) -> str:
    return f"max by (campaign) ({by_campaign(f'floorpulse_pacing_advice_{part}')})"


def queue_panels() -> tuple[Panel, ...]:
    """The inbound queues, per campaign: callers waiting now, the longest wait, service level,
    average speed of answer and callers who hung up while waiting. All about the queue, never
    about the person who answers."""
    sl_s = recorded.SERVICE_LEVEL_S
    return (
        Panel(
            title="Callers waiting now",
            description=(
                "Callers in each inbound queue waiting for someone free right now. Each of them "
                "is a person listening to hold music."
            ),
            queries=(
                Query(
                    total(by_campaign("floorpulse_queue_calls_waiting"), "campaign"), "{{campaign}}"
                ),
            ),
            kind="stat",
            width=6,
        ),
        Panel(
            title="Longest wait now",
            description=(
                "How long the caller who has waited longest in each queue has been waiting. "
                f"Past {sl_s} seconds the queue is behind its service level; 0 when nobody waits."
            ),
            queries=(
                Query(
                    f"max by (campaign) ({by_campaign('floorpulse_queue_oldest_wait_seconds')})",
                    "{{campaign}}",
                ),
            ),
            kind="stat",
            unit="s",
            marks=(Mark(sl_s, "orange"),),
            width=6,
        ),
        Panel(
            title="Service level, 15 minutes",
            description=(
                f"Share of callers answered within {sl_s} seconds, over the last 15 minutes "
                "(callers who hung up within 5 seconds left out). The line is 80%: under it for "
                "a quarter of an hour, callers are waiting long and more people on the phones "
                "would help. Never a reason to rush the calls on the line."
            ),
            queries=(Query(by_campaign(recorded.QUEUE_SERVICE_LEVEL), "{{campaign}}"),),
            unit="percentunit",
            min=0,
            max=1,
            marks=(Mark(recorded.SERVICE_LEVEL_LINE, "green"),),
        ),
        Panel(
            title="Average speed of answer, 15 minutes",
            description=(
                "How long the callers answered in the last 15 minutes waited, on average, "
                f"before someone took their call. The line is the service level's {sl_s} seconds."
            ),
            queries=(Query(by_campaign(recorded.QUEUE_ANSWER_SPEED), "{{campaign}}"),),
            unit="s",
            min=0,
            marks=(Mark(sl_s, "orange"),),
        ),
        Panel(
            title="Callers who hung up while waiting, 15 minutes",
            description=(
                "Callers who hung up (or whose call ended) before anyone answered, in the last "
                "15 minutes: after waiting 5 seconds or more, and within 5 seconds (callers who "
                "hung up at once, left out of the service level)."
            ),
            queries=(
                Query(_queue_outcomes('outcome="abandoned"'), "{{campaign}} after 5 s or more"),
                Query(
                    _queue_outcomes('outcome="abandoned_short"'),
                    "{{campaign}} within 5 s",
                ),
            ),
            min=0,
        ),
    )


def _queue_outcomes(*matchers: str) -> str:
    calls = by_campaign("floorpulse_queue_calls_total", *matchers)
    return total(f"increase({calls}[15m])", "campaign")


def _waits(part: str) -> str:
    series = by_team_and_campaign(f"floorpulse_agent_wait_seconds_{part}")
    return in_large_teams(rate(series, "15m"))
