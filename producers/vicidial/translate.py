"""VICIdial's rows to contract events: a pure translation (no database, no clock).

What each row means is in the package's docstring. Rows come in polls: every new row, and the
rows still open read again; `State` is what the translation knows between polls, and all a
checkpoint keeps, so that a restarted adapter sends nothing twice that it had recorded as sent
and misses nothing it had not.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, TypedDict

import msgspec

from producers.vicidial.config import VicidialSource
from producers.vicidial.rows import AgentLogRow, CallLogRow, CloserLogRow, UserLogRow
from streams.events import (
    AgentDisposition,
    AgentState,
    AgentStateChanged,
    AnsweredBy,
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

LOGIN_CODE: Final = "LOGIN"
"""The pause code VICIdial gives the row it inserts at login: not a pause chosen by anyone."""
NOBODY: Final = frozenset({"", "VDAD", "VDCL"})
"""The `user` of calls no person took: the dialer's and the in-group's own."""
CALL_LOOKBACK_S: Final = 600
"""vicidial_log rows are read again from this long before the newest call start seen: a call
nobody answered is written at the give-up with its dial as its start."""


class _AgentFields(TypedDict):
    v: Literal[1]
    source: str
    agent_id: str
    team_id: str
    campaign_id: str


class _CallFields(TypedDict):
    v: Literal[1]
    source: str
    call_id: str
    campaign_id: str


class Talk(msgspec.Struct, array_like=True):
    """A person took a dialer's call (from vicidial_agent_log): the call's connect."""

    epoch: int
    agent_id: str
    team_id: str


class State(msgspec.Struct):
    agent_log_id: int = 0
    """The highest vicidial_agent_log id read; every row after it is new."""
    user_log_id: int = 0
    closecallid: int = 0
    newest_row: dict[str, int] = {}
    """Each person's newest vicidial_agent_log row: the one VICIdial still updates."""
    cycles_sent: dict[int, list[str]] = {}
    """The phases already sent of each open cycle row."""
    logouts: dict[str, int] = {}
    """Each person's latest logout: it closes the rows before it."""
    queue_calls_sent: dict[int, list[str]] = {}
    """The phases already sent of each in-group call not yet ended."""
    talks: dict[str, Talk] = {}
    """The connects of the dialer's calls not yet ended, by uniqueid."""
    calls_open: list[str] = []
    """Answered calls of vicidial_log not yet ended: read again by key."""
    calls_sent: dict[str, int] = {}
    """Ended calls already sent, with their start, while they may be read again."""
    newest_call_start: int = 0


class Translator:
    def __init__(self, config: VicidialSource, state: State | None = None) -> None:
        self.config = config
        self.state = state if state is not None else State()
        self._machine = frozenset(config.machine_statuses)
        self._drops = frozenset(config.drop_statuses)
        self._queue_drops = frozenset(config.queue_drop_statuses)

    # vicidial_user_log

    def user_rows(self, rows: Iterable[UserLogRow]) -> list[Event]:
        events: list[Event] = []
        state = self.state
        for row in rows:
            state.user_log_id = max(state.user_log_id, row.user_log_id)
            if row.event.upper() != "LOGOUT":
                continue
            state.logouts[row.user] = max(state.logouts.get(row.user, 0), row.event_epoch)
            events.append(
                AgentStateChanged(
                    v=1,
                    event_id=self._id("user_log", row.user_log_id, "logout"),
                    ts=row.event_epoch * 1000,
                    source=self.config.source,
                    agent_id=row.user,
                    team_id=self.config.team(row.user_group),
                    campaign_id=self.config.campaign(row.campaign_id or ""),
                    state=AgentState.LOGGED_OUT,
                    site_id=self._site,
                )
            )
        return events

    # vicidial_agent_log

    def agent_rows(self, rows: list[AgentLogRow]) -> list[Event]:
        """New and open cycle rows, read in one statement: the newest epoch among them is the
        table's time, which tells a person ready from one who has not chosen a pause code."""
        state = self.state
        table_epoch = max((row.newest_epoch() for row in rows), default=0)
        for row in rows:
            state.agent_log_id = max(state.agent_log_id, row.agent_log_id)
            newest = state.newest_row.get(row.user, 0)
            if row.agent_log_id > newest:
                state.newest_row[row.user] = row.agent_log_id
        events: list[Event] = []
        for row in rows:
            sent = state.cycles_sent.setdefault(row.agent_log_id, [])
            closed = state.newest_row[row.user] != row.agent_log_id
            events.extend(self._cycle(row, closed, table_epoch, sent))
        # A closed row was read here for the last time (open rows are read with the new ones).
        still_open = set(state.newest_row.values())
        state.cycles_sent = {i: p for i, p in state.cycles_sent.items() if i in still_open}
        return events

    def open_cycles(self) -> list[int]:
        """The rows to read again: each person's newest, which VICIdial may still update."""
        return sorted(self.state.newest_row.values())

    def _cycle(
        self, row: AgentLogRow, closed: bool, table_epoch: int, sent: list[str]
    ) -> list[Event]:
        config = self.config
        pause_epoch = row.pause_epoch or 0
        if not pause_epoch:
            return []
        code = (row.sub_status or "").strip()
        pause_sec = row.pause_sec or 0
        logout = self.state.logouts.get(row.user, 0)
        went_on = (
            closed
            or row.talk_epoch is not None
            or (row.wait_sec or 0) > 0
            or pause_sec > 0
            or logout >= pause_epoch
        )
        base: _AgentFields = {
            "v": 1,
            "source": config.source,
            "agent_id": row.user,
            "team_id": config.team(row.user_group),
            "campaign_id": config.campaign(row.campaign_id or ""),
        }
        out: list[Event] = []

        def state(
            phase: str,
            epoch: int,
            value: AgentState,
            reason: str | msgspec.UnsetType = msgspec.UNSET,
            call_id: str | msgspec.UnsetType = msgspec.UNSET,
        ) -> None:
            if phase in sent:
                return
            sent.append(phase)
            out.append(
                AgentStateChanged(
                    event_id=self._id("agent_log", row.agent_log_id, phase),
                    ts=epoch * 1000,
                    state=value,
                    site_id=self._site,
                    reason=reason,
                    call_id=call_id,
                    **base,
                )
            )

        if (code and code != LOGIN_CODE) or pause_sec > 0:
            state("pause", pause_epoch, AgentState.PAUSED, reason=code or config.no_reason)
        wait_epoch = row.wait_epoch
        if wait_epoch is not None and (
            wait_epoch > pause_epoch
            or (
                pause_sec == 0
                and (went_on or (not code and table_epoch >= pause_epoch + config.ready_after_s))
            )
        ):
            state("ready", wait_epoch, AgentState.READY)
        if row.talk_epoch is None:
            return out
        call_id = row.uniqueid or self._id("agent_log", row.agent_log_id, "call")
        state("talk", row.talk_epoch, AgentState.ON_CALL, call_id=call_id)
        if (row.comments or "").upper() != "INBOUND" and call_id not in self.state.talks:
            self.state.talks[call_id] = Talk(row.talk_epoch, row.user, base["team_id"])
        if row.dispo_epoch is None:
            return out
        state("dispo", row.dispo_epoch, AgentState.WRAP_UP)
        if row.status and "status" not in sent:
            sent.append("status")
            out.append(
                AgentDisposition(
                    event_id=self._id("agent_log", row.agent_log_id, "status"),
                    ts=(row.dispo_epoch + (row.dispo_sec or 0)) * 1000,
                    call_id=call_id,
                    disposition=row.status,
                    **base,
                )
            )
        return out

    # vicidial_closer_log

    def closer_rows(self, rows: Iterable[CloserLogRow]) -> list[Event]:
        state = self.state
        events: list[Event] = []
        for row in rows:
            state.closecallid = max(state.closecallid, row.closecallid)
            if not row.start_epoch:
                continue
            sent = state.queue_calls_sent.setdefault(row.closecallid, [])
            events.extend(self._queue_call(row, sent))
            if row.end_epoch:
                del state.queue_calls_sent[row.closecallid]
        return events

    def open_queue_calls(self) -> list[int]:
        return sorted(self.state.queue_calls_sent)

    def _queue_call(self, row: CloserLogRow, sent: list[str]) -> list[Event]:
        assert row.start_epoch
        call_id = row.uniqueid or self._id("closer_log", row.closecallid, "call")
        base: _CallFields = {
            "v": 1,
            "source": self.config.source,
            "call_id": call_id,
            "campaign_id": self.config.ingroup(row.campaign_id or ""),
        }
        out: list[Event] = []

        def phase(name: str) -> str | None:
            if name in sent:
                return None
            sent.append(name)
            return self._id("closer_log", row.closecallid, name)

        if event_id := phase("queued"):
            out.append(CallQueued(event_id=event_id, ts=row.start_epoch * 1000, **base))
        answered = (row.user or "") not in NOBODY and row.queue_seconds is not None
        if answered and (event_id := phase("connected")):
            waited_ms = int((row.queue_seconds or 0) * 1000)
            out.append(
                CallConnected(
                    event_id=event_id,
                    ts=row.start_epoch * 1000 + waited_ms,
                    agent_id=row.user or "",
                    team_id=self.config.team(row.user_group),
                    **base,
                )
            )
        if row.end_epoch:
            left = not answered and (row.status or "") in self._queue_drops
            if event_id := phase("abandoned" if left else "ended"):
                kind = CallAbandoned if left else CallEnded
                out.append(kind(event_id=event_id, ts=row.end_epoch * 1000, **base))
        return out

    # vicidial_log

    def call_rows(self, rows: Iterable[CallLogRow], dials: dict[str, int]) -> list[Event]:
        """The dialer's calls read (new ones and those still open); `dials` holds the dial
        epoch of ended calls by uniqueid (vicidial_carrier_log), where known."""
        state = self.state
        events: list[Event] = []
        open_calls = set(state.calls_open)
        for row in rows:
            if not row.start_epoch or row.uniqueid in state.calls_sent:
                continue
            state.newest_call_start = max(state.newest_call_start, row.start_epoch)
            if not row.end_epoch:
                open_calls.add(row.uniqueid)
                continue
            open_calls.discard(row.uniqueid)
            state.calls_sent[row.uniqueid] = row.start_epoch
            events.extend(self._call(row, dials.get(row.uniqueid, row.start_epoch)))
        state.calls_open = sorted(open_calls)
        oldest = self.call_window()
        state.calls_sent = {u: s for u, s in state.calls_sent.items() if s >= oldest}
        # A connect whose call never ends in vicidial_log (a manual call VICIdial logs
        # elsewhere) is let go after a day.
        day_ago = state.newest_call_start - 86_400
        state.talks = {u: t for u, t in state.talks.items() if t.epoch >= day_ago}
        return events

    def call_window(self) -> int:
        """Calls that started from this epoch on are read again at each poll."""
        return max(0, self.state.newest_call_start - CALL_LOOKBACK_S)

    def wants_talk(self, row: CallLogRow) -> bool:
        """An ended call a person took whose connect the translation has not seen."""
        return (
            bool(row.end_epoch)
            and (row.user or "") not in NOBODY
            and row.uniqueid not in self.state.talks
            and row.uniqueid not in self.state.calls_sent
        )

    def talked(self, uniqueid: str, talk: Talk) -> None:
        self.state.talks.setdefault(uniqueid, talk)

    def _call(self, row: CallLogRow, dial_epoch: int) -> list[Event]:
        assert row.start_epoch and row.end_epoch
        config = self.config
        status = (row.status or "").strip().upper()
        base: _CallFields = {
            "v": 1,
            "source": config.source,
            "call_id": row.uniqueid,
            "campaign_id": config.campaign(row.campaign_id or ""),
        }

        def event_id(phase: str) -> str:
            return f"{config.source}:vicidial_log:{row.uniqueid}:{phase}"

        start, end = row.start_epoch * 1000, row.end_epoch * 1000
        out: list[Event] = [CallDialed(event_id=event_id("dialed"), ts=dial_epoch * 1000, **base)]
        outcome = config.unanswered.get(status)
        if outcome is not None:
            out.append(
                CallUnanswered(event_id=event_id("unanswered"), ts=end, outcome=outcome, **base)
            )
        else:
            answered_by = AnsweredBy.MACHINE if status in self._machine else AnsweredBy.HUMAN
            out.append(
                CallAnswered(
                    event_id=event_id("answered"), ts=start, answered_by=answered_by, **base
                )
            )
            talk = self.state.talks.pop(row.uniqueid, None)
            if status in self._drops:
                out.append(CallDropped(event_id=event_id("dropped"), ts=end, **base))
            elif talk is not None:
                out.append(
                    CallConnected(
                        event_id=event_id("connected"),
                        ts=talk.epoch * 1000,
                        agent_id=talk.agent_id,
                        team_id=talk.team_id,
                        **base,
                    )
                )
        out.append(CallEnded(event_id=event_id("ended"), ts=end, **base))
        return out

    def _id(self, table: str, row_id: int, phase: str) -> str:
        return f"{self.config.source}:{table}:{row_id}:{phase}"

    @property
    def _site(self) -> str | msgspec.UnsetType:
        return self.config.site if self.config.site else msgspec.UNSET
