"""The floor's numbers, read from Prometheus in one go: campaigns, queues and large teams."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field

from streams.board.prometheus import Prometheus

ABANDON_LINE = 0.03
"""The regulatory line for abandoned calls: 3% of calls answered by a person."""
STATES = ("ready", "on_call", "wrap_up", "paused")
LONGER_THAN = ("60m", "90m", "120m")


def large_teams(min_group_size: int, team: str | None = None) -> str:
    """dashboards/selectors.py's minimum-group clause, optionally for one team."""
    matcher = f"{{team={json.dumps(team)}}}" if team is not None else ""
    return f"(sum by (team) (floorpulse_agents{matcher}) >= {min_group_size})"


@dataclass(frozen=True)
class Campaign:
    name: str
    abandon: dict[str, float | None]
    """By window: 15m, 24h, 30d (None: no calls answered in it yet)."""
    dials_per_minute: float
    answers_per_minute: float
    calls_active: float
    pace: float | None = None
    """Lines ringing per person ready over 15 minutes (None: nobody ready, or no dialer)."""
    advised_pace: float | None = None
    """The pace that leaves people room to breathe (docs/pacing.md); None before any advice."""


@dataclass(frozen=True)
class Queue:
    name: str
    waiting: float
    oldest_wait_s: float
    service_level: float | None


@dataclass(frozen=True)
class Team:
    name: str
    states: dict[str, float]
    occupancy: float | None
    without_break: dict[str, float]
    checkins_open: float


@dataclass(frozen=True)
class Floor:
    campaigns: list[Campaign] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    teams: list[Team] = field(default_factory=list)


async def read_floor(prometheus: Prometheus, min_group_size: int) -> Floor:
    large = large_teams(min_group_size)
    q = prometheus.by
    campaigns, abandon_15m, dials, answers, active = await asyncio.gather(
        q("campaign", "count by (campaign) (floorpulse_calls_dialed_total)"),
        q("campaign", "campaign:floorpulse_abandon:ratio_rate15m"),
        q("campaign", "sum by (campaign) (rate(floorpulse_calls_dialed_total[5m])) * 60"),
        q(
            "campaign",
            'sum by (campaign) (rate(floorpulse_calls_answered_total{answered_by="human"}[5m]))'
            " * 60",
        ),
        q("campaign", "sum by (campaign) (floorpulse_calls_active)"),
    )
    queues, waiting, oldest, service, occupancy, checkins = await asyncio.gather(
        q("campaign", "count by (campaign) (floorpulse_queue_calls_queued_total)"),
        q("campaign", "sum by (campaign) (floorpulse_queue_calls_waiting)"),
        q("campaign", "max by (campaign) (floorpulse_queue_oldest_wait_seconds)"),
        q("campaign", "campaign:floorpulse_queue_service_level:ratio_rate15m"),
        q("team", f"team:floorpulse_occupancy:ratio_rate15m and on (team) {large}"),
        q("team", f"sum by (team) (floorpulse_checkins_open) and on (team) {large}"),
    )
    pace, advised = await asyncio.gather(
        q("campaign", "campaign:floorpulse_lines_per_ready:ratio_avg15m"),
        q("campaign", "max by (campaign) (floorpulse_pacing_advice_lines_per_agent)"),
    )
    windows, states, without = await asyncio.gather(
        prometheus.by2("campaign", "window", "campaign_window:floorpulse_abandon:ratio"),
        prometheus.by2(
            "team", "state", f"sum by (team, state) (floorpulse_agents) and on (team) {large}"
        ),
        prometheus.by2(
            "team",
            "longer_than",
            f"sum by (team, longer_than) (floorpulse_agents_without_break) and on (team) {large}",
        ),
    )
    by_team_state: dict[str, dict[str, float]] = defaultdict(dict)
    for (team, state), value in states.items():
        by_team_state[team][state] = value
    by_team_without: dict[str, dict[str, float]] = defaultdict(dict)
    for (team, longer), value in without.items():
        by_team_without[team][longer] = value
    return Floor(
        campaigns=[
            Campaign(
                name=name,
                abandon={
                    "15m": abandon_15m.get(name),
                    "24h": windows.get((name, "24h")),
                    "30d": windows.get((name, "30d")),
                },
                dials_per_minute=dials.get(name, 0.0),
                answers_per_minute=answers.get(name, 0.0),
                calls_active=active.get(name, 0.0),
                pace=pace.get(name),
                advised_pace=advised.get(name),
            )
            for name in sorted(campaigns)
        ],
        queues=[
            Queue(name, waiting.get(name, 0.0), oldest.get(name, 0.0), service.get(name))
            for name in sorted(queues)
        ],
        teams=[
            Team(
                name=team,
                states={s: by_team_state[team].get(s, 0.0) for s in STATES},
                occupancy=occupancy.get(team),
                without_break={w: by_team_without[team].get(w, 0.0) for w in LONGER_THAN},
                checkins_open=checkins.get(team, 0.0),
            )
            for team in sorted(by_team_state)
        ],
    )


async def team_is_shown(prometheus: Prometheus, team: str, min_group_size: int) -> bool:
    """Whether `team` has at least the minimum group size present now."""
    return bool(await prometheus.query(large_teams(min_group_size, team)))
