"""A reference model of stats.md, written from its definitions rather than as a stream fold.

It sees the whole (deduplicated, lateness-clamped) log at once: the intervals of each agent, its
off-phone periods, spans and sessions are computed as whole objects, and each check-in is looked
for where the definition says. It is slow and simple on purpose; the property tests compare the
engine against it on generated logs. Its code sets are written out here again from events.md.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from streams.engine import Params
from streams.events import (
    AgentDisposition,
    AgentStateChanged,
    CallAbandoned,
    CallAnswered,
    CallConnected,
    CallDialed,
    CallDropped,
    CallEnded,
    CallQueued,
    CallUnanswered,
    Event,
)

PAUSE_REASONS = {
    "break",
    "lunch",
    "prayer",
    "restroom",
    "training",
    "coaching",
    "meeting",
    "technical",
    "personal",
}
OUTCOMES = {"no_answer", "busy", "failed", "invalid"}
POSITIVE = {"sale", "appointment", "interested", "callback"}
NEGATIVE = {"not_interested", "hung_up", "abusive", "do_not_call"}
WORKING = {"ready", "on_call", "wrap_up"}
BUSY = {"on_call", "wrap_up"}
COUNTED_STATES = ("ready", "on_call", "wrap_up", "paused")
KINDS = ("long_stretch", "high_occupancy", "rejection_streak", "long_shift")
NEVER = -(10**18)
"""The start of the period before an agent's first event."""

Effect = tuple[str, str, str, int, int]
"""(agent, kind, team, opened_ts, closed_ts or -1), as tests.engine.builders.effect_key."""


def _canonical(code: str) -> str:
    return code.strip().lower().replace(" ", "_").replace("-", "_")


def _label(code: str, known: set[str]) -> str:
    found = _canonical(code)
    return found if found in known else "other"


def _class(code: str) -> str:
    found = _canonical(code)
    return "positive" if found in POSITIVE else "negative" if found in NEGATIVE else "neutral"


@dataclass
class _Interval:
    start: int
    end: int
    state: str
    team: str
    reason: str
    open_at_end: bool = False


@dataclass
class _Team:
    agents: set[str] = field(default_factory=set)
    state_ms: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTED_STATES, 0))
    breaks: dict[str, list[int]] = field(default_factory=dict)
    dispositions: dict[str, int] = field(
        default_factory=lambda: {"positive": 0, "negative": 0, "neutral": 0}
    )
    checkins: dict[str, int] = field(default_factory=lambda: dict.fromkeys(KINDS, 0))


@dataclass
class _Campaign:
    counts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    outcomes: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    talk_ms: int = 0
    days: dict[str, list[int]] = field(default_factory=dict)
    inbound: dict[str, Any] | None = None

    def day(self, ts: int) -> list[int]:
        date = dt.datetime.fromtimestamp(ts // 1000, dt.UTC).date().isoformat()
        return self.days.setdefault(date, [0, 0])


def _runs(intervals: list[_Interval], member: set[str]) -> list[tuple[int, int, int, int]]:
    """Maximal runs of consecutive intervals whose state is in `member`, with the virtual
    logged-out interval before the first event: (first index, last index, start, end)."""
    runs: list[tuple[int, int, int, int]] = []
    first: int | None = -1 if "logged_out" in member else None
    for i, interval in enumerate(intervals):
        if interval.state in member:
            if first is None:
                first = i
        elif first is not None:
            start = NEVER if first == -1 else intervals[first].start
            runs.append((first, i - 1, start, interval.start))
            first = None
    if first is not None:
        start = NEVER if first == -1 else intervals[first].start
        runs.append((first, len(intervals) - 1, start, intervals[-1].end))
    return runs


def _segments(
    intervals: list[_Interval], member: set[str], gap: int
) -> list[tuple[int, int, bool]]:
    """The stretches between long runs of `member` states (runs lasting at least `gap`, or the
    run before the first event): spans (off-phone runs) or sessions (logouts).
    (start, end, ended by such a run rather than by the window end)."""
    long_runs = [
        (first, last, start, end)
        for first, last, start, end in _runs(intervals, member)
        if start == NEVER or end - start >= gap
    ]
    segments: list[tuple[int, int, bool]] = []
    for n, (_first, last, _start, _end) in enumerate(long_runs):
        if last + 1 >= len(intervals):
            continue  # a run still open at the window end: nothing after it
        begin = intervals[last + 1].start
        if n + 1 < len(long_runs):
            segments.append((begin, long_runs[n + 1][2], True))
        else:
            segments.append((begin, intervals[-1].end, False))
    return segments


def _occupancy_moment(
    intervals: list[_Interval], start: int, end: int, window: int, ratio: Fraction
) -> int | None:
    """The first integer ms t in [start + window, end] with busy >= ratio * ready over
    [start, t) (and some working time)."""
    low = start + window
    busy = ready = 0
    for interval in intervals:
        if interval.end < start or interval.start > end:
            continue
        u, v = max(interval.start, start), min(interval.end, end)
        is_busy, is_ready = interval.state in BUSY, interval.state == "ready"
        if v >= low:
            t0 = max(u, low)
            b0 = busy + (t0 - u if is_busy else 0)
            r0 = ready + (t0 - u if is_ready else 0)
            need = max(math.ceil(ratio * r0), 1)
            if b0 >= need:
                return t0
            if is_busy and t0 + (need - b0) <= v:
                return t0 + (need - b0)
        if is_busy:
            busy += v - u
        elif is_ready:
            ready += v - u
    return None


class Reference:
    """The report and check-ins of a log by the definitions."""

    def __init__(self, params: Params) -> None:
        self.p = params
        self.recovery = round(params.recovery_s * 1000)
        self.stretch = round(params.stretch_s * 1000)
        self.window = round(params.occupancy_window_s * 1000)
        theta = Fraction(str(params.occupancy_threshold))
        self.ratio = theta / (1 - theta)
        self.gap = round(params.session_gap_s * 1000)
        self.shift = round(params.shift_s * 1000)

    def run(self, events: list[Event]) -> tuple[dict[str, Any], list[Effect]]:
        seen: set[str] = set()
        duplicate = late = 0
        clocks: dict[tuple[str, str], int] = {}
        applied: list[tuple[Event, int]] = []
        for event in events:
            if event.event_id in seen:
                duplicate += 1
                continue
            seen.add(event.event_id)
            if isinstance(event, AgentStateChanged | AgentDisposition):
                key = ("agent", event.agent_id)
            else:
                key = ("call", event.call_id)
            ts = event.ts
            last = clocks.get(key)
            if last is not None and ts < last:
                ts, late = last, late + 1
            clocks[key] = ts
            applied.append((event, ts))
        stamps = [ts for _, ts in applied]
        end = max(stamps) if stamps else 0
        self.teams: dict[str, _Team] = defaultdict(_Team)
        self.effects: list[Effect] = []
        self._agents(applied, end)
        campaigns = self._calls(applied)
        report = {
            "report": "floorpulse/v1",
            "events": {
                "lines": len(events),
                "valid": len(events),
                "invalid": 0,
                "duplicate": duplicate,
                "late": late,
            },
            "window": {
                "start_ts": min(stamps) if stamps else None,
                "end_ts": end if stamps else None,
            },
            "campaigns": campaigns,
            "teams": {name: self._team(t) for name, t in self.teams.items()},
        }
        return report, sorted(self.effects)

    # agents -------------------------------------------------------------------------------------

    def _agents(self, applied: list[tuple[Event, int]], end: int) -> None:
        per_agent: dict[str, list[tuple[Event, int]]] = defaultdict(list)
        for event, ts in applied:
            if isinstance(event, AgentStateChanged | AgentDisposition):
                per_agent[event.agent_id].append((event, ts))
        for agent, agent_events in per_agent.items():
            self._agent(agent, agent_events, end)

    def _agent(self, agent: str, events: list[tuple[Event, int]], end: int) -> None:
        states = [(e, ts) for e, ts in events if isinstance(e, AgentStateChanged)]
        dispositions = [(e, ts) for e, ts in events if isinstance(e, AgentDisposition)]
        for d, _ in dispositions:
            self.teams[d.team_id].dispositions[_class(d.disposition)] += 1
        intervals: list[_Interval] = []
        for i, (s, ts) in enumerate(states):
            self.teams[s.team_id].agents.add(agent)
            stop = states[i + 1][1] if i + 1 < len(states) else end
            reason = _label(s.reason, PAUSE_REASONS) if isinstance(s.reason, str) else ""
            intervals.append(_Interval(ts, stop, s.state.value, s.team_id, reason))
        for interval in intervals:
            if interval.state == "logged_out":
                continue
            team = self.teams[interval.team]
            length = interval.end - interval.start
            team.state_ms[interval.state] += length
            if interval.state == "paused":
                found = team.breaks.setdefault(interval.reason, [0, 0])
                found[0] += 1
                found[1] += length
        if not intervals:
            return

        def team_at(moment: int) -> str:
            team = ""
            for e, ts in states:
                if ts <= moment:
                    team = e.team_id
            return team

        def check_in(kind: str, moment: int, closed: int | None) -> None:
            team = team_at(moment)
            self.teams[team].checkins[kind] += 1
            self.effects.append((agent, kind, team, moment, -1))
            if closed is not None:
                self.effects.append((agent, kind, team, moment, closed))

        off = {"paused", "logged_out"}
        for start, stop, by_recovery in _segments(intervals, off, self.recovery):
            closed = stop if by_recovery else None
            if stop - start >= self.stretch:
                check_in("long_stretch", start + self.stretch, closed)
            moment = _occupancy_moment(intervals, start, stop, self.window, self.ratio)
            if moment is not None:
                check_in("high_occupancy", moment, closed)
            streak = 0
            for e, ts in dispositions:
                if start <= ts <= stop:
                    cls = _class(e.disposition)
                    if cls == "positive":
                        streak = 0
                    elif cls == "negative":
                        streak += 1
                        if streak == self.p.streak_n:
                            check_in("rejection_streak", ts, closed)
                            break  # at most once per span
        for start, stop, by_logout in _segments(intervals, {"logged_out"}, self.gap):
            if stop - start >= self.shift:
                check_in("long_shift", start + self.shift, stop if by_logout else None)

    def _team(self, team: _Team) -> dict[str, Any]:
        ready, on_call, wrap_up = (team.state_ms[s] for s in ("ready", "on_call", "wrap_up"))
        busy = on_call + wrap_up
        return {
            "agents": len(team.agents),
            "state_seconds": {s: ms / 1000 for s, ms in team.state_ms.items()},
            "occupancy_ratio": busy / (busy + ready) if busy + ready else None,
            "breaks": {
                "count": sum(c for c, _ in team.breaks.values()),
                "seconds": sum(ms for _, ms in team.breaks.values()) / 1000,
                "by_reason": {
                    r: {"count": c, "seconds": ms / 1000} for r, (c, ms) in team.breaks.items()
                },
            },
            "dispositions": dict(team.dispositions),
            "checkins": dict(team.checkins),
        }

    # calls --------------------------------------------------------------------------------------

    def _calls(self, applied: list[tuple[Event, int]]) -> dict[str, Any]:
        campaigns: dict[str, _Campaign] = defaultdict(_Campaign)
        calls: dict[str, dict[str, Any]] = defaultdict(
            lambda: {"answered": False, "met": False, "human": None, "connected": None}
        )
        inbound = self._inbound_calls(applied)
        for event, ts in applied:
            if isinstance(event, AgentStateChanged | AgentDisposition):
                continue
            c = campaigns[event.campaign_id]
            call = calls[event.call_id]
            if event.call_id in inbound:
                call["met"] = True  # never an implied answer

            def human_answer(c: _Campaign = c, call: dict[str, Any] = call, ts: int = ts) -> None:
                c.counts["answered_human"] += 1
                c.day(ts)[0] += 1
                if call["human"] is None:
                    call["human"] = ts

            def meet(call: dict[str, Any] = call) -> None:
                if not call["met"]:
                    call["met"] = True
                    if not call["answered"]:
                        human_answer()

            if isinstance(event, CallDialed):
                c.counts["dialed"] += 1
            elif isinstance(event, CallAnswered):
                call["answered"] = True
                if event.answered_by.value == "human":
                    human_answer()
                else:
                    c.counts["answered_machine"] += 1
            elif isinstance(event, CallUnanswered):
                c.counts["unanswered"] += 1
                c.outcomes[_label(event.outcome, OUTCOMES)] += 1
            elif isinstance(event, CallDropped):
                meet()
                c.counts["dropped"] += 1
                c.day(ts)[1] += 1
            elif isinstance(event, CallConnected):
                meet()
                c.counts["connected"] += 1
                _ = self.teams[event.team_id]  # a call.connected names a team
                if (
                    call["human"] is not None
                    and ts - call["human"] > self.p.abandon_after_ms
                    and event.call_id not in inbound
                ):
                    c.counts["late_connected"] += 1
                    c.day(ts)[1] += 1
                if call["connected"] is None:
                    call["connected"] = ts
            elif (
                isinstance(event, CallEnded)
                and call["connected"] is not None
                and not call.get("talked")
            ):
                call["talked"] = True
                c.counts["talked"] += 1
                c.talk_ms += ts - call["connected"]
        for call_id, queue_campaign in inbound.items():
            self._queue_call(campaigns[queue_campaign], applied, call_id)
        return {name: self._campaign(c) for name, c in campaigns.items()}

    @staticmethod
    def _inbound_calls(applied: list[tuple[Event, int]]) -> dict[str, str]:
        """Inbound call ids (their first applied event is `call.queued`) and their queue."""
        first: dict[str, Event] = {}
        for event, _ts in applied:
            if not isinstance(event, AgentStateChanged | AgentDisposition):
                first.setdefault(event.call_id, event)
        return {
            call_id: event.campaign_id
            for call_id, event in first.items()
            if isinstance(event, CallQueued)
        }

    def _queue_call(self, c: _Campaign, applied: list[tuple[Event, int]], call_id: str) -> None:
        mine = [
            (event, ts)
            for event, ts in applied
            if not isinstance(event, AgentStateChanged | AgentDisposition)
            and event.call_id == call_id
        ]
        queued_at = mine[0][1]
        q = c.inbound = c.inbound or {
            "queued": 0,
            "answered": 0,
            "abandoned": 0,
            "abandoned_short": 0,
            "answered_within_sl": 0,
            "wait_ms": 0,
        }
        q["queued"] += 1
        outcome = next(
            (
                (event, ts)
                for event, ts in mine[1:]
                if isinstance(event, CallConnected | CallAbandoned | CallEnded)
            ),
            None,
        )
        if outcome is None:
            return
        event, ts = outcome
        wait = ts - queued_at
        if isinstance(event, CallConnected):
            q["answered"] += 1
            q["wait_ms"] += wait
            q["answered_within_sl"] += wait <= self.p.service_level_ms
        elif wait < self.p.short_abandon_ms:
            q["abandoned_short"] += 1
        else:
            q["abandoned"] += 1

    @staticmethod
    def _campaign(c: _Campaign) -> dict[str, Any]:
        n = c.counts
        abandoned = n["dropped"] + n["late_connected"]

        def ratio(a: float, b: float) -> float | None:
            return a / b if b else None

        result = {
            "dialed": n["dialed"],
            "answered_human": n["answered_human"],
            "answered_machine": n["answered_machine"],
            "unanswered": n["unanswered"],
            "unanswered_by_outcome": dict(c.outcomes),
            "dropped": n["dropped"],
            "connected": n["connected"],
            "late_connected": n["late_connected"],
            "abandoned": abandoned,
            "abandon_ratio": ratio(abandoned, n["answered_human"]),
            "answer_ratio": ratio(n["answered_human"], n["dialed"]),
            "talked": n["talked"],
            "talk_seconds": c.talk_ms / 1000,
            "talk_seconds_mean": ratio(c.talk_ms / 1000, n["talked"]),
            "by_day": {
                date: {"answered_human": a, "abandoned": b, "abandon_ratio": ratio(b, a)}
                for date, (a, b) in c.days.items()
            },
        }
        if c.inbound is not None:
            q = c.inbound
            counted = q["answered"] + q["abandoned"]
            result["inbound"] = {
                "queued": q["queued"],
                "answered": q["answered"],
                "abandoned": q["abandoned"],
                "abandoned_short": q["abandoned_short"],
                "answered_within_sl": q["answered_within_sl"],
                "answered_wait_seconds": q["wait_ms"] / 1000,
                "asa_seconds": ratio(q["wait_ms"] / 1000, q["answered"]),
                "service_level_ratio": ratio(q["answered_within_sl"], counted),
                "queue_abandon_ratio": ratio(q["abandoned"], counted),
            }
        return result
