"""A stand-in for Prometheus' query API: canned series for a floor of teams and campaigns.

Answers each instant query by the metric it reads, the way the board asks; the minimum-group
clause is honoured (teams under the size are left out), so tests can check that the board
never shows them. bench/board.py uses it for a floor of 2,000 people.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass
class FakeFloor:
    team_sizes: dict[str, int] = field(default_factory=lambda: {"team-a": 8, "team-tiny": 2})
    campaigns: list[str] = field(default_factory=lambda: ["campaign-01"])
    queries: list[str] = field(default_factory=list)

    def answer(self, query: str) -> list[dict[str, Any]]:
        self.queries.append(query)
        size = re.search(r">= (\d+)\)", query)
        one_team = re.search(r'floorpulse_agents\{team="([^"]+)"\}', query)
        teams = {
            team: n
            for team, n in self.team_sizes.items()
            if (size is None or n >= int(size[1])) and (one_team is None or team == one_team[1])
        }
        if one_team is not None:
            return [series({"team": t}, n) for t, n in teams.items()]
        if "sum by (team, state)" in query:
            states = ("ready", "on_call", "wrap_up", "paused")
            return [
                series({"team": t, "state": s}, n // 4 + (i < n % 4))
                for t, n in teams.items()
                for i, s in enumerate(states)
            ]
        if "occupancy" in query:
            return [series({"team": t}, 0.82) for t in teams]
        if "without_break" in query:
            return [
                series({"team": t, "longer_than": w}, v)
                for t in teams
                for w, v in (("60m", 3), ("90m", 1), ("120m", 0))
            ]
        if "checkins_open" in query:
            return [series({"team": t}, 1) for t in teams]
        if "campaign_window" in query:
            return [
                series({"campaign": c, "window": w}, v)
                for c in self.campaigns
                for w, v in (("24h", 0.021), ("30d", 0.034))
            ]
        values = {
            "abandon:ratio_rate15m": 0.012,
            "dialed_total[5m]": 40.0,
            "answered_total": 12.5,
            "calls_active": 17,
            "count by (campaign) (floorpulse_calls_dialed_total)": 1,
            "queue_calls_queued_total": 1,
            "calls_waiting": 3,
            "oldest_wait": 42,
            "service_level": 0.875,
        }
        for needle, value in values.items():
            if needle in query:
                return [series({"campaign": c}, value) for c in self.campaigns]
        return []

    def app(self) -> web.Application:
        async def query(request: web.Request) -> web.Response:
            result = self.answer(request.query.get("query", ""))
            return web.json_response(
                {"status": "success", "data": {"resultType": "vector", "result": result}}
            )

        app = web.Application()
        app.router.add_get("/api/v1/query", query)
        return app


def series(labels: dict[str, str], value: float) -> dict[str, Any]:
    return {"metric": labels, "value": [0, str(value)]}
