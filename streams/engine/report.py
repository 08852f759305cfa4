"""The offline report (report.md) built from a finalized floor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from streams.engine.calls import DAY_MS
from streams.engine.floor import Floor
from streams.engine.totals import (
    CHECKIN_KINDS,
    DISPOSITION_CLASSES,
    WORK_STATES,
    CampaignTotals,
    QueueTotals,
    TeamShare,
)


class EventCounts(msgspec.Struct):
    """How the log's lines fared (report `events`)."""

    lines: int = 0
    valid: int = 0
    invalid: int = 0
    duplicate: int = 0
    late: int = 0


def team_totals(floor: Floor) -> dict[str, tuple[int, TeamShare]]:
    """Per team: how many agents named it in a state event, and the sum of every share."""
    teams: dict[str, tuple[int, TeamShare]] = {}
    for track in floor.agents.values():
        for team, share in track.shares.items():
            agents, total = teams.get(team) or (0, TeamShare())
            total.add(share)
            teams[team] = (agents + share.member, total)
    for campaign in floor.campaigns.values():
        for team in campaign.totals.teams:
            teams.setdefault(team, (0, TeamShare()))
    return teams


def build_report(floor: Floor, events: EventCounts) -> dict[str, Any]:
    return {
        "report": "floorpulse/v1",
        "events": msgspec.structs.asdict(events),
        "window": {
            "start_ts": floor.first_ts or None,
            "end_ts": floor.last_ts or None,
        },
        "campaigns": {
            name: _campaign(track.totals) for name, track in sorted(floor.campaigns.items())
        },
        "teams": {
            name: _team(agents, share)
            for name, (agents, share) in sorted(team_totals(floor).items())
        },
    }


def _ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def _date(day: int) -> str:
    return dt.datetime.fromtimestamp(day * DAY_MS / 1000, dt.UTC).date().isoformat()


def _campaign(totals: CampaignTotals) -> dict[str, Any]:
    abandoned = totals.abandoned
    talked, talk_ms = totals.talk.count, totals.talk.sum_ms
    report = {
        "dialed": totals.dialed,
        "answered_human": totals.answered_human,
        "answered_machine": totals.answered_machine,
        "unanswered": totals.unanswered,
        "unanswered_by_outcome": dict(sorted(totals.unanswered_by_outcome.items())),
        "dropped": totals.dropped,
        "connected": totals.connected,
        "late_connected": totals.late_connected,
        "abandoned": abandoned,
        "abandon_ratio": _ratio(abandoned, totals.answered_human),
        "answer_ratio": _ratio(totals.answered_human, totals.dialed),
        "talked": talked,
        "talk_seconds": talk_ms / 1000,
        "talk_seconds_mean": _ratio(talk_ms / 1000, talked),
        "by_day": {
            _date(day): {
                "answered_human": bucket.answered_human,
                "abandoned": bucket.abandoned,
                "abandon_ratio": _ratio(bucket.abandoned, bucket.answered_human),
            }
            for day, bucket in sorted(totals.by_day.items())
        },
    }
    queue = totals.queue
    if queue is not None and queue.queued:
        report["inbound"] = _inbound(queue)
    return report


def _inbound(queue: QueueTotals) -> dict[str, Any]:
    answered, abandoned = queue.answered, queue.abandoned
    wait_s = queue.wait.sum_ms / 1000
    return {
        "queued": queue.queued,
        "answered": answered,
        "abandoned": abandoned,
        "abandoned_short": queue.abandoned_short,
        "answered_within_sl": queue.answered_within_sl,
        "answered_wait_seconds": wait_s,
        "asa_seconds": _ratio(wait_s, answered),
        "service_level_ratio": _ratio(queue.answered_within_sl, answered + abandoned),
        "queue_abandon_ratio": _ratio(abandoned, answered + abandoned),
    }


def _team(agents: int, share: TeamShare) -> dict[str, Any]:
    state_ms = [0, 0, 0, 0]
    for seconds in share.state_ms.values():
        state_ms = [a + b for a, b in zip(state_ms, seconds, strict=True)]
    ready, on_call, wrap_up, _paused = state_ms
    by_reason = {
        reason: {"count": h.count, "seconds": h.sum_ms / 1000}
        for reason, h in sorted(share.breaks.items())
    }
    return {
        "agents": agents,
        "state_seconds": {s: v / 1000 for s, v in zip(WORK_STATES, state_ms, strict=True)},
        "occupancy_ratio": _ratio(on_call + wrap_up, on_call + wrap_up + ready),
        "breaks": {
            "count": sum(r["count"] for r in by_reason.values()),
            "seconds": sum(h.sum_ms for h in share.breaks.values()) / 1000,
            "by_reason": by_reason,
        },
        "dispositions": dict(zip(DISPOSITION_CLASSES, share.dispositions, strict=True)),
        "checkins": dict(zip(CHECKIN_KINDS, share.checkins, strict=True)),
    }
