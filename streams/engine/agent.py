"""One agent's timeline: intervals, breaks, spans, sessions and check-ins (stats.md).

Time moves forward in `advance`, which decides everything that happens by the passage of time
in [clock, t): a check-in that opens, a recovery that ends a span, a logout that ends a session.
A moment equal to the clock is decided only once the clock has passed it, so that every event of
that millisecond has been applied first (stats.md: "the last in order").

A moment inside an off-phone period that has not yet lasted `recovery_s` is pending: if the
period ends short it belongs to the span, if it becomes a recovery the span ended at its start.
Logouts and sessions follow the same pattern with `session_gap_s`.
"""

from __future__ import annotations

from typing import Final

import msgspec

from streams.engine.checkins import Checkin, OpenCheckin, Pending, closing, opening
from streams.engine.params import Params, ms
from streams.engine.totals import (
    BREAK_BOUNDS_MS,
    BREAK_BOUNDS_S,
    WAIT_BOUNDS_MS,
    WAIT_BOUNDS_S,
    Histogram,
    TeamShare,
)
from streams.events import AgentDisposition, AgentState, AgentStateChanged

WORKING: Final = frozenset({"ready", "on_call", "wrap_up"})
STATE_INDEX: Final = {"ready": 0, "on_call": 1, "wrap_up": 2, "paused": 3}
CLASS_INDEX: Final = {"positive": 0, "negative": 1, "neutral": 2}
KIND_INDEX: Final = {"long_stretch": 0, "high_occupancy": 1, "rejection_streak": 2, "long_shift": 3}
SPAN_KINDS: Final = ("long_stretch", "high_occupancy", "rejection_streak")
STATE_NAMES: Final = {state: state.value for state in AgentState}
"""Each state's name: an enum's `.value` is a property written in Python, four times slower."""
RECENT_IDS_MS: Final = 600_000  # events.md: remember ids for at least 10 minutes of event time
# ... and the newest ids whatever their age: an adapter restarted while catching up sends its
# last delivery again, and one person's cycle in it (pause, wait, a long call, wrap-up) may span
# more than ten minutes of event time.
RECENT_IDS_KEPT: Final = 32


class AgentTrack(msgspec.Struct):
    """Everything the engine keeps about one agent. 0 stands for "none" in times (ts > 0)."""

    agent_id: str
    state: str = "logged_out"
    since: int = 0
    team: str = ""
    campaign: str = ""
    reason: str = ""
    clock: int = 0
    """Event time decided so far: the last applied ts, or a live tick."""
    shares: dict[str, TeamShare] = msgspec.field(default_factory=dict)
    recent: dict[str, int] = msgspec.field(default_factory=dict)
    """Event ids of about the last ten minutes, and at least the newest RECENT_IDS_KEPT, with
    their ts (in the order they came)."""
    span_start: int = 0
    off_start: int = 0
    """Start of the current off-phone period while it may still end short (a span is alive)."""
    span_busy: int = 0
    span_ready: int = 0
    streak: int = 0
    span_opened: list[str] = msgspec.field(default_factory=list)
    span_pending: list[Pending] = msgspec.field(default_factory=list)
    awaiting: list[str] = msgspec.field(default_factory=list)
    """Classes of positive and negative dispositions at the clock's millisecond."""
    session_start: int = 0
    logout_start: int = 0
    """Start of the current logout while it may still end short (a session is alive)."""
    shift_opened: bool = False
    shift_pending: list[Pending] = msgspec.field(default_factory=list)
    open: dict[str, OpenCheckin] = msgspec.field(default_factory=dict)

    def share(self, team: str) -> TeamShare:
        found = self.shares.get(team)
        if found is None:
            found = self.shares[team] = TeamShare()
        return found

    def seen(self, event_id: str, ts: int) -> bool:
        """Whether the id was applied recently; remembers it otherwise."""
        recent = self.recent
        if event_id in recent:
            return True
        recent[event_id] = ts
        if len(recent) > 2 * RECENT_IDS_KEPT:
            horizon = self.clock - RECENT_IDS_MS
            newest = set(list(recent)[-RECENT_IDS_KEPT:])
            self.recent = {k: v for k, v in recent.items() if v >= horizon or k in newest}
        return False


class AgentFold:
    """Applies agent events and the passage of time to agent tracks, collecting check-ins."""

    def __init__(self, params: Params, effects: list[Checkin]) -> None:
        self.codes = params.codes
        self.recovery = ms(params.recovery_s)
        self.stretch = ms(params.stretch_s)
        self.window = ms(params.occupancy_window_s)
        ratio = params.busy_per_ready
        self.busy_num, self.busy_den = ratio.numerator, ratio.denominator
        self.streak_n = params.streak_n
        self.gap = ms(params.session_gap_s)
        self.shift = ms(params.shift_s)
        self.effects = effects

    # events -----------------------------------------------------------------------------------

    def state(self, track: AgentTrack, event: AgentStateChanged, ts: int) -> None:
        self.advance(track, ts, final=False)
        old, new = track.state, STATE_NAMES[event.state]
        self._close_interval(track, ts, ends_in_call=new == "on_call")
        if new in WORKING:
            if old not in WORKING:
                if track.span_start and track.off_start:
                    self._commit_span_pending(track)
                    track.off_start = 0
                else:
                    self._start_span(track, ts)
        elif old in WORKING:
            track.off_start = ts
        if new != "logged_out":
            if old == "logged_out":
                if track.session_start and track.logout_start:
                    for pending in track.shift_pending:
                        self._open(track, pending.what, pending.moment, pending.team)
                    track.shift_pending.clear()
                    track.logout_start = 0
                else:
                    track.session_start, track.shift_opened = ts, False
        elif old != "logged_out" and track.session_start:
            track.logout_start = ts
        track.state, track.since = new, ts
        track.team, track.campaign = event.team_id, event.campaign_id
        reason = event.reason
        track.reason = self.codes.reason(reason) if isinstance(reason, str) else ""
        share = track.share(event.team_id)
        share.member = True
        share.seen[event.campaign_id] = ts

    def disposition(self, track: AgentTrack, event: AgentDisposition, ts: int) -> None:
        self.advance(track, ts, final=False)
        cls = self.codes.disposition_class(event.disposition)
        share = track.share(event.team_id)
        share.dispositions[CLASS_INDEX[cls]] += 1
        share.seen[event.campaign_id] = ts
        if cls != "neutral":
            track.awaiting.append(cls)

    def finalize(self, track: AgentTrack, end: int) -> None:
        """Close everything at the window end, as the offline report does."""
        self.advance(track, end, final=True)
        if track.span_start and track.off_start:
            self._commit_span_pending(track)
        for pending in track.shift_pending:
            self._open(track, pending.what, pending.moment, pending.team)
        track.shift_pending.clear()
        self._close_interval(track, end, ends_in_call=False)
        track.since = end

    # time -------------------------------------------------------------------------------------

    def advance(self, track: AgentTrack, t: int, final: bool) -> None:
        """Decide what happens in [clock, t), or [clock, t] at the window end."""
        c = track.clock
        if t <= c and not final:
            return
        if track.awaiting:
            for cls in track.awaiting:
                self._disposition_at(track, cls, c)
            track.awaiting.clear()
        if track.since == 0:
            track.clock = t
            return
        if track.span_start:
            self._advance_span(track, c, t, final)
        if track.session_start:
            self._advance_session(track, c, t, final)
        track.clock = t

    def _advance_span(self, track: AgentTrack, c: int, t: int, final: bool) -> None:
        start, state, opened = track.span_start, track.state, track.span_opened
        off = track.off_start
        recovered = off and off + self.recovery <= t
        candidates: list[tuple[str, int]] = []
        if "long_stretch" not in opened:
            moment = start + self.stretch
            if c <= moment < t or (final and moment == t):
                candidates.append(("long_stretch", moment))
        if "high_occupancy" not in opened:
            moment_or_none = self._occupancy_moment(track, c, t, final)
            if moment_or_none is not None:
                candidates.append(("high_occupancy", moment_or_none))
        for kind, moment in candidates:
            if not off or moment == off:
                opened.append(kind)
                self._open(track, kind, moment, track.team)
            elif not recovered:
                opened.append(kind)
                track.span_pending.append(Pending(kind, moment, track.team))
        if state == "ready":
            track.span_ready += t - c
        elif state in WORKING:
            track.span_busy += t - c
        if recovered:
            self._end_span(track, off)

    def _occupancy_moment(self, track: AgentTrack, c: int, t: int, final: bool) -> int | None:
        """The first moment in [c, t) (or [c, t]) when span occupancy reaches the threshold."""
        m = max(c, track.span_start + self.window)
        if m > t or (m == t and not final):
            return None
        busy, ready = track.span_busy, track.span_ready
        is_busy = track.state == "on_call" or track.state == "wrap_up"
        if is_busy:
            busy += m - c
        elif track.state == "ready":
            ready += m - c
        need = max(-(-ready * self.busy_num // self.busy_den), 1)
        if busy >= need:
            return m
        if is_busy:
            moment = m + need - busy
            if moment < t or (final and moment == t):
                return moment
        return None

    def _advance_session(self, track: AgentTrack, c: int, t: int, final: bool) -> None:
        logout = track.logout_start
        ended = logout and logout + self.gap <= t
        if not track.shift_opened:
            moment = track.session_start + self.shift
            if c <= moment < t or (final and moment == t):
                if not logout or moment == logout:
                    track.shift_opened = True
                    self._open(track, "long_shift", moment, track.team)
                elif not ended:
                    track.shift_opened = True
                    track.shift_pending.append(Pending("long_shift", moment, track.team))
        if ended:
            opened = track.open.pop("long_shift", None)
            if opened is not None:
                self.effects.append(closing(track.agent_id, "long_shift", opened, logout))
            track.session_start = track.logout_start = 0
            track.shift_pending.clear()

    # pieces -----------------------------------------------------------------------------------

    def _close_interval(self, track: AgentTrack, t: int, ends_in_call: bool) -> None:
        old = track.state
        if old == "logged_out" or track.since == 0:
            return
        length = t - track.since
        share = track.share(track.team)
        seconds = share.state_ms.get(track.campaign)
        if seconds is None:
            seconds = share.state_ms[track.campaign] = [0, 0, 0, 0]
        seconds[STATE_INDEX[old]] += length
        if old == "paused":
            histogram = share.breaks.get(track.reason)
            if histogram is None:
                histogram = share.breaks[track.reason] = Histogram.empty(BREAK_BOUNDS_S)
            histogram.observe(length, BREAK_BOUNDS_MS)
        elif old == "ready" and ends_in_call:
            histogram = share.wait.get(track.campaign)
            if histogram is None:
                histogram = share.wait[track.campaign] = Histogram.empty(WAIT_BOUNDS_S)
            histogram.observe(length, WAIT_BOUNDS_MS)

    def _start_span(self, track: AgentTrack, ts: int) -> None:
        track.span_start, track.off_start = ts, 0
        track.span_busy = track.span_ready = track.streak = 0
        track.span_opened = []
        track.span_pending = []

    def _end_span(self, track: AgentTrack, end: int) -> None:
        for kind in SPAN_KINDS:
            opened = track.open.pop(kind, None)
            if opened is not None:
                self.effects.append(closing(track.agent_id, kind, opened, end))
        track.span_start = track.off_start = 0
        track.span_pending = []

    def _commit_span_pending(self, track: AgentTrack) -> None:
        for pending in track.span_pending:
            if pending.what in KIND_INDEX:
                self._open(track, pending.what, pending.moment, pending.team)
            else:
                self._streak(track, pending.what, pending.moment, pending.team)
        track.span_pending = []

    def _disposition_at(self, track: AgentTrack, cls: str, moment: int) -> None:
        if not track.span_start:
            return  # during a recovery: no span to belong to
        if not track.off_start or moment == track.off_start:
            self._streak(track, cls, moment, track.team)
        else:
            track.span_pending.append(Pending(cls, moment, track.team))

    def _streak(self, track: AgentTrack, cls: str, moment: int, team: str) -> None:
        if cls == "positive":
            track.streak = 0
            return
        track.streak += 1
        if track.streak >= self.streak_n and "rejection_streak" not in track.span_opened:
            track.span_opened.append("rejection_streak")
            self._open(track, "rejection_streak", moment, team)

    def _open(self, track: AgentTrack, kind: str, moment: int, team: str) -> None:
        track.share(team).checkins[KIND_INDEX[kind]] += 1
        track.open[kind] = OpenCheckin(moment, team)
        self.effects.append(opening(track.agent_id, kind, moment, team))
