"""The board's pages: plain HTML rendered on the server, large type, inline CSS.

One small inline script refreshes a page's live part in place (without it, the whole page
reloads itself); everything on a page works without it.

Colour is never the only signal (every mark has its words), and nothing grows redder with a
person's pause: a pause is a pause, drawn like any other state.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from html import escape
from typing import Final

from streams.board.checkins import FADE_MS, Checkin
from streams.board.floor import ABANDON_LINE, Floor

STYLE: Final = """
:root { color-scheme: light; --ink: #1b1b1b; --calm: #1d4f73; --note: #7a4b00; }
body { font-family: system-ui, sans-serif; font-size: 1.6rem; color: var(--ink);
  background: #fbfaf7; margin: 1rem 2rem; line-height: 1.35; }
h1 { font-size: 2.6rem; margin: 0 0 .5rem; } h2 { font-size: 2rem; margin: 1.2rem 0 .4rem; }
table { border-collapse: collapse; width: 100%; }
caption { text-align: left; font-size: 1.1rem; color: #555; padding-bottom: .3rem; }
th, td { padding: .35rem .8rem; border-bottom: 2px solid #ddd8cc; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { font-size: 1.2rem; color: #444; }
td { font-size: 2.2rem; font-variant-numeric: tabular-nums; }
.over { color: var(--note); font-weight: 700; }
.over::before { content: "\\25B2 "; }
.under::before { content: "\\2713 "; color: var(--calm); }
.small { font-size: 1.1rem; color: #555; }
ul.checkins { list-style: none; padding: 0; }
ul.checkins li { border-left: .5rem solid var(--calm); background: #fff; margin: .8rem 0;
  padding: .8rem 1.2rem; }
ul.checkins li.closed { border-left-color: #bbb; }
.message { font-size: 2rem; margin: 0 0 .3rem; }
a { color: var(--calm); } a:focus, button:focus, input:focus { outline: .25rem solid #f2b632; }
input, button { font-size: 1.6rem; padding: .4rem .8rem; }
nav { float: right; font-size: 1.2rem; }
"""
STATE_WORDS: Final = {
    "ready": "ready",
    "on_call": "on a call",
    "wrap_up": "wrapping up",
    "paused": "paused",
}
KIND_WORDS: Final = {
    "long_stretch": "a long stretch without a break",
    "high_occupancy": "calls back to back",
    "rejection_streak": "a run of hard calls",
    "long_shift": "a long shift",
}


LIVE_SCRIPT: Final = """
(() => {
  const live = document.getElementById("live");
  let last = null;
  setInterval(async () => {
    try {
      const answer = await fetch(location.href,
        {headers: {"X-Board-Fragment": "1"}, cache: "no-store"});
      if (!answer.ok) { location.reload(); return; }
      const html = await answer.text();
      if (html === last) return;
      live.innerHTML = last = html;
      const summary = live.querySelector("[data-summary]");
      const status = document.getElementById("summary");
      if (summary && status && status.textContent !== summary.dataset.summary) {
        status.textContent = summary.dataset.summary;
      }
    } catch (error) { /* the board is away a moment: the next tick tries again */ }
  }, Number(live.dataset.every) * 1000);
})();
"""
"""Replaces the page's live part in place, so focus and scrolling stay where they are."""
LIVE_SCRIPT_HASH: Final = base64.b64encode(hashlib.sha256(LIVE_SCRIPT.encode()).digest()).decode()
"""For the Content-Security-Policy: the one script the board's pages may run."""


def document(title: str, body: str, *, live_s: int | None = None) -> str:
    """A whole page; with `live_s`, its `#live` part refreshes itself every `live_s` seconds
    (the whole page, without script)."""
    refresh = (
        f'<noscript><meta http-equiv="refresh" content="{live_s}"></noscript>' if live_s else ""
    )
    script = f"<script>{LIVE_SCRIPT}</script>" if live_s else ""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'{refresh}<link rel="icon" href="data:,"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head><body>{body}{script}</body></html>"
    )


def _live(fragment: str, every_s: int) -> str:
    return f'<div id="live" data-every="{every_s}">{fragment}</div>'


def _number(value: float) -> str:
    return f"{value:,.0f}"


def _per_minute(value: float) -> str:
    return f"{value:,.1f}"


def _pace(pace: float | None, advised: float | None) -> str:
    shown = "-" if pace is None else f"{pace:.2f}"
    if advised is None:
        return shown
    above = pace is not None and pace > 1.25 * advised
    return f"{shown} ({advised:.2f}{', above: ease the dialer' if above else ''})"


def _ratio(value: float | None) -> str:
    return "no calls yet" if value is None else f"{value * 100:.1f}%"


def _abandon(value: float | None) -> str:
    if value is None:
        return '<span class="small">no calls yet</span>'
    if value > ABANDON_LINE:
        return f'<span class="over">{value * 100:.1f}% <span class="small">over 3%</span></span>'
    return f'<span class="under">{value * 100:.1f}% <span class="small">under 3%</span></span>'


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s" if minutes < 10 else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def _table(title: str, caption: str, head: Iterable[str], rows: list[list[str]]) -> str:
    ident = title.lower().replace(" ", "-")
    if not rows:
        return (
            f'<section aria-labelledby="{ident}"><h2 id="{ident}">{title}</h2>'
            "<p>None now.</p></section>"
        )
    header = "".join(f'<th scope="col">{h}</th>' for h in head)
    body = "".join(
        "<tr>"
        + f'<th scope="row">{row[0]}</th>'
        + "".join(f"<td>{c}</td>" for c in row[1:])
        + "</tr>"
        for row in rows
    )
    return (
        f'<section aria-labelledby="{ident}"><h2 id="{ident}">{title}</h2><table>'
        f"<caption>{caption}</caption><thead><tr>{header}</tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


def floor_page(
    floor: Floor, min_group_size: int, refresh_s: int, problem: str | None, *, fragment: bool
) -> str:
    """The floor page, or only its live part (`fragment`)."""
    campaigns = [
        [
            escape(c.name),
            _abandon(c.abandon["15m"]),
            _abandon(c.abandon["24h"]),
            _abandon(c.abandon["30d"]),
            _per_minute(c.dials_per_minute),
            _per_minute(c.answers_per_minute),
            _number(c.calls_active),
            _pace(c.pace, c.advised_pace),
        ]
        for c in floor.campaigns
    ]
    queues = [
        [
            escape(q.name),
            _number(q.waiting),
            _duration(q.oldest_wait_s),
            _ratio(q.service_level),
        ]
        for q in floor.queues
    ]
    teams = [
        [
            escape(t.name),
            *(_number(t.states[s]) for s in STATE_WORDS),
            _ratio(t.occupancy),
            *(_number(t.without_break[w]) for w in ("60m", "90m", "120m")),
            _number(t.checkins_open),
        ]
        for t in floor.teams
    ]
    notice = f'<p role="status" class="over">{escape(problem)}</p>' if problem else ""
    live = (
        notice
        + _table(
            "Campaigns",
            "Abandoned calls per call answered by a person, against the 3% line;"
            " dials and answers per minute over 5 minutes; calls on the lines now; the lines"
            " ringing per person ready over 15 minutes beside the pace that leaves people room"
            " to breathe.",
            [
                "Campaign",
                "Abandoned 15 min",
                "24 h",
                "30 days",
                "Dials/min",
                "Answers/min",
                "Calls now",
                "Pace (advised)",
            ],
            campaigns,
        )
        + _table(
            "Queues",
            "Callers waiting now, the longest wait, and callers answered within 20 s over"
            " 15 minutes.",
            ["Queue", "Waiting", "Longest wait", "Service level"],
            queues,
        )
        + _table(
            "Teams",
            f"People by state; time on calls over 15 minutes; people working without a real"
            f" break for more than 60, 90 and 120 minutes; check-ins open. Only teams of at"
            f" least {min_group_size} people present are shown.",
            [
                "Team",
                "Ready",
                "On a call",
                "Wrapping up",
                "Paused",
                "Occupancy",
                "No break 60 min",
                "90 min",
                "120 min",
                "Check-ins open",
            ],
            teams,
        )
        + f'<p class="small">Updated every {refresh_s} s from Prometheus.</p>'
    )
    if fragment:
        return live
    body = (
        '<nav><a href="/login">Team leads: your team\'s check-ins</a></nav>'
        f"<main><h1>The floor</h1>{_live(live, refresh_s)}</main>"
    )
    return document("The floor", body, live_s=refresh_s)


def login_page(message: str | None = None) -> str:
    notice = f'<p role="alert" class="over">{escape(message)}</p>' if message else ""
    body = (
        '<nav><a href="/">The floor</a></nav><main><h1>Your team\'s check-ins</h1>'
        f"{notice}"
        '<form method="post" action="/login"><p><label for="token">Your team\'s token</label></p>'
        '<p><input id="token" name="token" type="password" autocomplete="current-password"'
        ' required> <button type="submit">Open</button></p></form></main>'
    )
    return document("Team check-ins: sign in", body)


def _checkin_item(checkin: Checkin, now_ms: int) -> str:
    kind = KIND_WORDS.get(checkin.kind, checkin.kind.replace("_", " "))
    opened = _duration((now_ms - checkin.opened_ts) / 1000)
    if checkin.closed_ts is None:
        return (
            f'<li><p class="message">{escape(checkin.message)}</p>'
            f'<p class="small">{escape(checkin.agent_id)} · {escape(kind)} · opened {opened}'
            " ago</p></li>"
        )
    age = now_ms - checkin.closed_ts
    opacity = max(0.25, 1 - age / FADE_MS)
    closed = _duration(age / 1000)
    return (
        f'<li class="closed" style="opacity: {opacity:.2f}"><p class="message">'
        f"{escape(checkin.message)}</p>"
        f'<p class="small">{escape(checkin.agent_id)} · {escape(kind)} · over: closed'
        f" {closed} ago</p></li>"
    )


def team_page(
    team: str,
    open_now: list[Checkin],
    closed: list[Checkin],
    now_ms: int,
    refresh_s: int,
    *,
    fragment: bool,
) -> str:
    """A team's check-ins, or only the live part (`fragment`). A screen reader hears the count
    when it changes (the status line), not the whole list every few seconds."""
    count = len(open_now)
    summary = f"{count} check-in{'' if count == 1 else 's'} open now."
    if open_now:
        items = "".join(_checkin_item(c, now_ms) for c in open_now)
        listing = f'<ul class="checkins" aria-label="Open check-ins">{items}</ul>'
    else:
        listing = "<p>No check-in is open. Nobody on the team needs a word right now.</p>"
    if closed:
        items = "".join(_checkin_item(c, now_ms) for c in closed)
        listing += (
            f'<h2 id="over">Just over</h2><ul class="checkins" aria-labelledby="over">{items}</ul>'
        )
    live = (
        f'<span hidden data-summary="{summary}"></span>{listing}'
        f'<p class="small">Updated every {refresh_s} s.</p>'
    )
    if fragment:
        return live
    body = (
        '<nav><a href="/">The floor</a> · <form method="post" action="/logout"'
        ' style="display:inline"><button type="submit">Sign out</button></form></nav>'
        f"<main><h1>Check-ins: {escape(team)}</h1>"
        '<p class="small">Suggestions to offer support: a break, a word, a lighter hour.'
        f' Never a fault, never a score.</p><p id="summary" role="status">{summary}</p>'
        f"{_live(live, refresh_s)}</main>"
    )
    return document(f"Check-ins: {team}", body, live_s=refresh_s)


def not_shown_page(team: str, min_group_size: int) -> str:
    body = (
        '<nav><a href="/">The floor</a></nav>'
        f"<main><h1>Check-ins: {escape(team)}</h1><p>This team has fewer than {min_group_size}"
        " people on the floor now, so its check-ins are not shown here.</p></main>"
    )
    return document(f"Check-ins: {team}", body)


def message_page(title: str, text: str) -> str:
    body = (
        '<nav><a href="/">The floor</a></nav>'
        f"<main><h1>{escape(title)}</h1><p>{escape(text)}</p></main>"
    )
    return document(title, body)
