"""The offline report for a person: a compact table per campaign and per team."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Mapping
from typing import Any

from streams.engine.pacing import DEFAULT_LIMITS, CampaignPacing, Limit, PacingLimits

ABANDON_LINE = 0.03
CHECKIN_WORDS = {
    "long_stretch": ("long stretch without a real break", "long stretches without a real break"),
    "high_occupancy": (
        "busy hour with little breathing room",
        "busy hours with little breathing room",
    ),
    "rejection_streak": ("run of hard calls", "runs of hard calls"),
    "long_shift": ("long shift", "long shifts"),
}


def render_text(
    report: dict[str, Any],
    min_group_size: int = 5,
    *,
    pacing: Mapping[str, CampaignPacing] | None = None,
    limits: PacingLimits = DEFAULT_LIMITS,
) -> str:
    """The report for a person. A team's numbers show only when it has `min_group_size` people;
    smaller teams are shown together, so that no number points at one person. `pacing` adds the
    pacing advice of the outbound campaigns (streams/analyze.py, `pacing`)."""
    lines = [_heading(report), ""]
    campaigns = report["campaigns"]
    if campaigns:
        lines.append("Campaigns (the 3% line: abandoned calls per call answered by a person)")
        lines += _table(
            ["campaign", "dials", "answered", "answer", "abandoned", "abandon", "", "talk (mean)"],
            [_campaign_row(name, c) for name, c in campaigns.items()],
        )
        lines.append("")
    queues = {name: c["inbound"] for name, c in campaigns.items() if "inbound" in c}
    if queues:
        lines.append(
            "Queues (people who called in; service level: the share answered within 20 s,"
            " leaving out those who hung up within seconds)"
        )
        header = [
            "queue",
            "callers",
            "answered",
            "average wait",
            "service level",
            "left unanswered",
        ]
        lines += _table(
            header,
            [_queue_row(name, q) for name, q in queues.items()],
        )
        lines.append("")
    if pacing:
        lines += _pacing(pacing, limits)
        lines.append("")
    teams = report["teams"]
    if teams:
        shown = {name: t for name, t in teams.items() if t["agents"] >= min_group_size}
        small = [t for name, t in teams.items() if name not in shown]
        rows = [_team_row(name, t) for name, t in shown.items()]
        together = _together(small)
        if small and together["agents"] >= min_group_size:
            rows.append(_team_row(f"teams under {min_group_size} people, together", together))
        lines.append("Teams")
        if rows:
            lines += _table(
                ["team", "people", "occupancy", "breaks", "break time", "check-ins suggested"],
                rows,
            )
        if small and together["agents"] < min_group_size:
            lines.append(
                f"  {len(small)} team{'s' if len(small) > 1 else ''} with fewer than"
                f" {min_group_size} people in all: not shown, so that no number points at one"
                " person."
            )
        lines.append("")
        lines.append(
            "Check-ins are suggestions to offer support (a break, a word, a lighter hour),"
            " never faults."
        )
    if not campaigns and not teams:
        lines.append("No events could be applied.")
    return "\n".join(lines) + "\n"


def _heading(report: dict[str, Any]) -> str:
    events, window = report["events"], report["window"]
    span = "no events"
    if window["start_ts"] is not None:
        span = f"{_time(window['start_ts'])} to {_time(window['end_ts'])} UTC"
    return (
        f"floorpulse report, {span}\n"
        f"{events['lines']:,} lines: {events['valid']:,} valid, {events['invalid']:,} invalid,"
        f" {events['duplicate']:,} duplicate, {events['late']:,} late"
    )


def _campaign_row(name: str, c: dict[str, Any]) -> list[str]:
    ratio = c["abandon_ratio"]
    if ratio is None:
        mark = ""
    elif ratio > ABANDON_LINE:
        mark = "over 3%: slow the dialer"
    elif ratio > 0.8 * ABANDON_LINE:
        mark = "near 3%"
    else:
        mark = "within 3%"
    talk = _duration(c["talk_seconds"])
    if c["talk_seconds_mean"] is not None:
        talk += f" ({_duration(c['talk_seconds_mean'])})"
    return [
        name,
        f"{c['dialed']:,}",
        f"{c['answered_human']:,}",
        _percent(c["answer_ratio"]),
        f"{c['abandoned']:,}",
        _percent(ratio),
        mark,
        talk,
    ]


LIMIT_WORDS = {
    Limit.ABANDON: "abandoned calls",
    Limit.OCCUPANCY: "time between calls",
    Limit.HIGHEST: "neither, yet",
}


def _pacing(pacing: Mapping[str, CampaignPacing], limits: PacingLimits) -> list[str]:
    """The advised pace of each outbound campaign beside the pace it ran, in caring words."""
    target, ceiling = _percent(limits.abandon_target), _percent(limits.occupancy_ceiling)
    lines = ["Pacing that leaves people room to breathe (lines ringing for each person ready)"]
    rows = []
    for name, found in pacing.items():
        advice = found.advice
        rows.append(
            [
                name,
                f"{advice.lines_per_agent:.2f}",
                _percent(advice.abandon_ratio),
                _percent(advice.occupancy_ratio),
                "-"
                if found.observed_lines_per_agent is None
                else f"{found.observed_lines_per_agent:.2f}",
                LIMIT_WORDS[advice.limit],
            ]
        )
    lines += _table(["campaign", "advised", "abandoned", "on calls", "it ran at", "set by"], rows)
    lines += _paragraph(
        f"Advised: the most lines ringing for each person ready that keep abandoned calls under"
        f" {target} of the calls people answer, and time on calls and wrap-up at most {ceiling} of"
        ' working time, so that everyone has a moment between calls. "abandoned" and "on'
        ' calls" are what to expect at that pace; the lower of the two limits sets it.'
    )
    for name, found in pacing.items():
        for note in _pacing_notes(name, found):
            lines += _paragraph(note)
    return lines


def _paragraph(text: str) -> list[str]:
    return textwrap.wrap(text, width=98, initial_indent="  ", subsequent_indent="  ")


def _pacing_notes(name: str, found: CampaignPacing) -> list[str]:
    advice, observed = found.advice, found.observed_lines_per_agent
    notes = []
    if not advice.within_limits:
        notes.append(
            f"{name}: even {advice.lines_per_agent:.2f} lines per person ready would not keep both"
            " limits; more people on its calls would help, never a faster pace."
        )
    elif observed > 1.1 * advice.lines_per_agent:
        notes.append(
            f"{name} ran at {observed:.2f} lines per person ready, above the"
            f" {advice.lines_per_agent:.2f} advised: easing its dialer gives people more time"
            " between calls."
        )
    seen = found.observed_abandon_ratio
    if found.calibration > 1.2 and seen is not None:
        notes.append(
            f"At its own pace {name} left {_percent(seen)} of answered calls with nobody to talk"
            f" to, more than the {_percent(found.expected_abandon_at_observed)} the model expects"
            " there (slow connects, or a dialer that also rings for people still wrapping up, add"
            " to it): its advice is that much more careful."
        )
    return notes


def _together(teams: list[dict[str, Any]]) -> dict[str, Any]:
    """Small teams summed into one: people, time by state, breaks and check-ins."""
    states = ("ready", "on_call", "wrap_up", "paused")
    seconds = {s: sum(t["state_seconds"][s] for t in teams) for s in states}
    busy = seconds["on_call"] + seconds["wrap_up"]
    return {
        "agents": sum(t["agents"] for t in teams),
        "occupancy_ratio": busy / (busy + seconds["ready"]) if busy + seconds["ready"] else None,
        "breaks": {
            "count": sum(t["breaks"]["count"] for t in teams),
            "seconds": sum(t["breaks"]["seconds"] for t in teams),
        },
        "checkins": {k: sum(t["checkins"][k] for t in teams) for k in CHECKIN_WORDS},
    }


def _queue_row(name: str, q: dict[str, Any]) -> list[str]:
    asa = q["asa_seconds"]
    hung_up = f"{q['abandoned']:,}"
    if q["abandoned_short"]:
        hung_up += f" (+{q['abandoned_short']:,} within seconds)"
    return [
        name,
        f"{q['queued']:,}",
        f"{q['answered']:,}",
        "-" if asa is None else _duration(asa),
        _percent(q["service_level_ratio"]),
        hung_up,
    ]


def _team_row(name: str, t: dict[str, Any]) -> list[str]:
    offered = [
        f"{count} {CHECKIN_WORDS[kind][count != 1]}"
        for kind, count in t["checkins"].items()
        if count
    ]
    return [
        name,
        str(t["agents"]),
        _percent(t["occupancy_ratio"]),
        str(t["breaks"]["count"]),
        _duration(t["breaks"]["seconds"]),
        ", ".join(offered) or "none",
    ]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        text = "  ".join(
            c.ljust(w) if i in (0, len(cells) - 1) or not c[:1].isdigit() else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )
        return "  " + text.rstrip()

    return [line(header), *(line(r) for r in rows)]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _duration(seconds: float) -> str:
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def _time(ts: int) -> str:
    return dt.datetime.fromtimestamp(ts / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M")
