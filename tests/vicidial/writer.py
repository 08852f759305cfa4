"""A simulated floor written into VICIdial's own tables, the way VICIdial writes them.

`render` turns contract events (the project's simulator's, at whole seconds) into the SQL
statements VICIdial would have run, in its order: a `vicidial_agent_log` row inserted at each
pause (at login with the LOGIN code) and updated in place through wait, talk and disposition;
LOGIN and LOGOUT rows in `vicidial_user_log`; a `vicidial_log` row per dialer call, inserted at
the answer (whole when nobody answered) and updated at the end, drops by VDAD; a
`vicidial_carrier_log` row at each call's end; a `vicidial_closer_log` row per caller of an
in-group. Row ids are given as AUTO_INCREMENT would give them on empty tables. `FLOOR_TOML` is
the floor's configuration that maps it all back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import pymysql

from streams.codes import (
    NEGATIVE_DISPOSITIONS,
    PAUSE_REASONS,
    POSITIVE_DISPOSITIONS,
    canonical,
)
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

SERVER_IP: Final = "10.0.0.5"
QUEUE_TIMEOUT_S: Final = 600
"""An in-group gives up on a caller after this long (the simulator's queues do too)."""

PAUSE_CODES: Final = {
    "break": "BRK",
    "lunch": "LUNCH",
    "prayer": "NAMAZ",
    "restroom": "BATH",
    "training": "TRAIN",
    "coaching": "COACH",
    "meeting": "MEET",
    "technical": "TECH",
    "personal": "PERS",
    "bio_break": "BIO",
}
DISPOSITIONS: Final = {
    "sale": "SALE",
    "appointment": "APPT",
    "callback": "CALLBK",
    "interested": "INTRST",
    "not_interested": "NI",
    "hung_up": "HU",
    "do_not_call": "DNC",
    "abusive": "ABUSE",
    "wrong_number": "WRONG",
    "already_customer": "CUST",
    "language_barrier": "LANG",
    "no_decision": "NODEC",
    "resolved": "RSLVD",
    "information": "INFO",
    "transferred": "XFER",
    "complaint": "CMPLNT",
    "escalated": "ESCAL",
}
"""The simulator's dispositions as a site's statuses (at most six characters)."""
SYSTEM_STATUSES: Final = frozenset({"SALE", "CALLBK", "NI", "DNC", "XFER"})
"""Those VICIdial ships in vicidial_statuses; the others are the campaigns' own."""
UNANSWERED: Final = {
    "no_answer": ("NA", "NOANSWER"),
    "busy": ("B", "BUSY"),
    "invalid": ("DC", "CHANUNAVAIL"),
    "failed": ("CPDERR", "CHANUNAVAIL"),
    "congestion": ("CONGST", "CONGESTION"),
}
"""Outcome: (vicidial_log status, vicidial_carrier_log dialstatus). CONGST is the site's own
status, which its configuration names."""
MACHINE_STATUS: Final = "AA"


def campaign_code(campaign: str) -> str:
    """campaign-01 as VICIdial's campaign id (at most eight characters)."""
    return "CAMP" + campaign.rsplit("-", 1)[-1]


def ingroup_code(campaign: str) -> str:
    return "IN" + campaign.rsplit("-", 1)[-1]


def group_code(team: str) -> str:
    return "TEAM" + team.rsplit("-", 1)[-1]


def floor_toml(campaigns: Iterable[str], teams: Iterable[str], source: str = "vicidial") -> str:
    """The floor's configuration: VICIdial's ids back to the simulator's names, and the site's
    statuses and pause codes as the contract's codes."""
    campaigns, teams = sorted(campaigns), sorted(teams)

    def table(pairs: Iterable[tuple[str, str]]) -> str:
        return "{ " + ", ".join(f'{code} = "{name}"' for code, name in pairs) + " }"

    # Codes the contract knows; the others (BIO, WRONG, RSLVD...) count as "other" and
    # "neutral", as the simulator's own spellings of them do.
    known = PAUSE_REASONS | POSITIVE_DISPOSITIONS | NEGATIVE_DISPOSITIONS
    aliases = {code: name for name, code in (PAUSE_CODES | DISPOSITIONS).items() if name in known}
    return "\n".join(
        [
            "[sources.vicidial]",
            f'source = "{source}"',
            f"campaigns = {table((campaign_code(c), c) for c in campaigns)}",
            f"ingroups = {table((ingroup_code(c), c) for c in campaigns)}",
            f"user_groups = {table((group_code(t), t) for t in teams)}",
            f"unanswered = {table((status, name) for name, (status, _) in UNANSWERED.items())}",
            "",
            "[codes.aliases]",
            *(f'{code} = "{name}"' for code, name in sorted(aliases.items())),
            "",
        ]
    )


@dataclass(frozen=True)
class Statement:
    epoch: int
    """The moment VICIdial runs it."""
    sql: str
    args: tuple[Any, ...] = ()


@dataclass
class _Person:
    logged_in: bool = False
    row: int = 0
    phase: str = ""
    """ready, paused, talk, dispo or done (the disposition is chosen)."""
    epochs: dict[str, int] = field(default_factory=dict)
    campaign: str = ""
    group: str = ""
    call: str = ""


@dataclass
class _Call:
    uniqueid: str
    campaign: str
    dialed: int = 0
    start: int | None = None
    inbound: bool = False
    closecallid: int = 0
    machine: bool = False
    dropped: bool = False
    answered_by: str = ""
    ended: bool = False


class Writer:
    """Renders events in order; `statements` holds what VICIdial would have run."""

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self._people: dict[str, _Person] = {}
        self._calls: dict[str, _Call] = {}
        self._ids = {"agent_log": 0, "user_log": 0, "closer_log": 0, "call": 0}

    def render(self, events: Iterable[Event]) -> list[Statement]:
        for event in events:
            epoch = event.ts // 1000
            if isinstance(event, AgentStateChanged):
                self._state(event, epoch)
            elif isinstance(event, AgentDisposition):
                self._disposition(event, epoch)
            else:
                self._call_event(event, epoch)
        return self.statements

    def _run(self, epoch: int, sql: str, *args: Any) -> None:
        self.statements.append(Statement(epoch, sql, args))

    def _next(self, counter: str) -> int:
        self._ids[counter] += 1
        return self._ids[counter]

    # People: vicidial_user_log and vicidial_agent_log.

    def _state(self, event: AgentStateChanged, epoch: int) -> None:
        person = self._people.setdefault(event.agent_id, _Person())
        person.campaign, person.group = campaign_code(event.campaign_id), group_code(event.team_id)
        state = event.state
        if state is AgentState.LOGGED_OUT:
            if person.logged_in:
                self._close(person, epoch)
                self._user_log(event.agent_id, person, "LOGOUT", epoch)
                person.logged_in, person.phase = False, ""
            return
        if not person.logged_in:
            # A login is a pause with the LOGIN code, left at once (pause_sec 0) or given the
            # code the person chooses.
            self._user_log(event.agent_id, person, "LOGIN", epoch)
            self._insert_row(event.agent_id, person, epoch, "LOGIN")
            person.logged_in = True
            if state is AgentState.PAUSED:
                self._update(person, epoch, sub_status=_pause_code(event))
                person.phase = "paused"
            else:
                person.phase = "ready"
            return
        if state is AgentState.READY:
            if person.phase == "paused":
                pause_sec = epoch - person.epochs["pause_epoch"]
                self._update(person, epoch, pause_sec=pause_sec, wait_epoch=epoch)
            elif person.phase == "done":
                self._insert_row(event.agent_id, person, epoch)
            person.phase = "ready"
        elif state is AgentState.PAUSED:
            self._close(person, epoch)
            self._insert_row(event.agent_id, person, epoch)
            self._update(person, epoch, sub_status=_pause_code(event))
            person.phase = "paused"
        elif state is AgentState.ON_CALL:
            call = self._calls[str(event.call_id)]
            wait_sec = epoch - person.epochs["wait_epoch"]
            self._update(
                person,
                epoch,
                wait_sec=wait_sec,
                talk_epoch=epoch,
                uniqueid=call.uniqueid,
                lead_id=int(call.uniqueid.split(".")[1]),
                comments="INBOUND" if call.inbound else "AUTO",
            )
            person.phase, person.call = "talk", str(event.call_id)
        elif state is AgentState.WRAP_UP:
            talk_sec = epoch - person.epochs["talk_epoch"]
            self._update(person, epoch, talk_sec=talk_sec, dispo_epoch=epoch)
            person.phase = "dispo"

    def _close(self, person: _Person, epoch: int) -> None:
        """What VICIdial writes on the open row when the person leaves its current step."""
        if person.phase == "ready":
            self._update(person, epoch, wait_sec=epoch - person.epochs["wait_epoch"])
        elif person.phase == "paused":
            # A pause closed by another pause or a logout: no wait began.
            self._update(person, epoch, pause_sec=epoch - person.epochs["pause_epoch"])

    def _disposition(self, event: AgentDisposition, epoch: int) -> None:
        person = self._people[event.agent_id]
        status = DISPOSITIONS[canonical(event.disposition)]
        dispo_sec = epoch - person.epochs["dispo_epoch"]
        self._update(person, epoch, dispo_sec=dispo_sec, status=status)
        person.phase = "done"
        call = self._calls.get(event.call_id)
        if call is None:
            return
        if call.inbound:
            self._run(
                epoch,
                "UPDATE vicidial_closer_log SET status = %s WHERE closecallid = %s",
                status,
                call.closecallid,
            )
        else:
            self._run(
                epoch,
                "UPDATE vicidial_log SET status = %s WHERE uniqueid = %s",
                status,
                call.uniqueid,
            )

    def _user_log(self, user: str, person: _Person, what: str, epoch: int) -> None:
        self._run(
            epoch,
            "INSERT INTO vicidial_user_log (user_log_id, user, event, campaign_id, event_date, "
            "event_epoch, user_group, server_ip) "
            "VALUES (%s, %s, %s, %s, FROM_UNIXTIME(%s), %s, %s, %s)",
            self._next("user_log"),
            user,
            what,
            person.campaign,
            epoch,
            epoch,
            person.group,
            SERVER_IP,
        )

    def _insert_row(self, user: str, person: _Person, epoch: int, code: str | None = None) -> None:
        person.row = self._next("agent_log")
        person.epochs = {"pause_epoch": epoch, "wait_epoch": epoch}
        self._run(
            epoch,
            "INSERT INTO vicidial_agent_log (agent_log_id, user, server_ip, event_time, "
            "campaign_id, pause_epoch, pause_sec, wait_epoch, user_group, sub_status) "
            "VALUES (%s, %s, %s, FROM_UNIXTIME(%s), %s, %s, 0, %s, %s, %s)",
            person.row,
            user,
            SERVER_IP,
            epoch,
            person.campaign,
            epoch,
            epoch,
            person.group,
            code,
        )

    def _update(self, person: _Person, epoch: int, **columns: Any) -> None:
        for name, value in columns.items():
            if name.endswith("_epoch"):
                person.epochs[name] = value
        assignments = ", ".join(f"{name} = %s" for name in columns)
        self._run(
            epoch,
            f"UPDATE vicidial_agent_log SET {assignments} WHERE agent_log_id = %s",
            *columns.values(),
            person.row,
        )

    # Calls: vicidial_log, vicidial_carrier_log, vicidial_closer_log.

    def _call_event(self, event: Event, epoch: int) -> None:
        call_id = str(event.call_id)
        if isinstance(event, CallDialed | CallQueued):
            n = self._next("call")
            call = _Call(f"{epoch}.{n}", event.campaign_id, dialed=epoch)
            self._calls[call_id] = call
            if isinstance(event, CallQueued):
                self._queued(call, epoch)
            return
        call = self._calls[call_id]
        if isinstance(event, CallAnswered):
            call.machine = event.answered_by is AnsweredBy.MACHINE
            self._answered(call, epoch)
        elif isinstance(event, CallUnanswered):
            status, dialstatus = UNANSWERED[canonical(event.outcome)]
            self._carrier(call, epoch, dialstatus)
            self._run(
                epoch,
                "INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, "
                "start_epoch, end_epoch, length_in_sec, status, user, processed) "
                "VALUES (%s, %s, %s, FROM_UNIXTIME(%s), %s, %s, 0, %s, 'VDAD', 'N')",
                call.uniqueid,
                _lead(call),
                campaign_code(call.campaign),
                call.dialed,
                call.dialed,
                epoch,
                status,
            )
            call.ended = True
        elif isinstance(event, CallConnected):
            if call.inbound:
                self._run(
                    epoch,
                    "UPDATE vicidial_closer_log SET user = %s, user_group = %s, "
                    "queue_seconds = %s, status = 'INCALL' WHERE closecallid = %s",
                    event.agent_id,
                    group_code(event.team_id),
                    epoch - call.dialed,
                    call.closecallid,
                )
                call.answered_by = event.agent_id
                return
            self._answered(call, epoch)
            self._run(
                epoch,
                "UPDATE vicidial_log SET user = %s, user_group = %s, status = 'INCALL' "
                "WHERE uniqueid = %s",
                event.agent_id,
                group_code(event.team_id),
                call.uniqueid,
            )
            call.answered_by = event.agent_id
        elif isinstance(event, CallDropped):
            self._answered(call, epoch)
            call.dropped = True
        elif isinstance(event, CallAbandoned | CallEnded):
            if call.ended:
                return
            call.ended = True
            if call.inbound:
                self._queue_end(call, epoch, isinstance(event, CallAbandoned))
            else:
                self._call_end(call, epoch)

    def _answered(self, call: _Call, epoch: int) -> None:
        """The dialer's row, inserted at the answer (or at the connect or drop that shows a
        person answered when the answer itself went unreported)."""
        if call.start is not None:
            return
        call.start = epoch
        self._run(
            epoch,
            "INSERT INTO vicidial_log (uniqueid, lead_id, campaign_id, call_date, start_epoch, "
            "status, user, processed) VALUES (%s, %s, %s, FROM_UNIXTIME(%s), %s, 'SENT', "
            "'VDAD', 'N')",
            call.uniqueid,
            _lead(call),
            campaign_code(call.campaign),
            epoch,
            epoch,
        )

    def _call_end(self, call: _Call, epoch: int) -> None:
        assert call.start is not None
        self._carrier(call, epoch, "ANSWER")
        if call.dropped:
            status, user = "DROP", "VDAD"
        elif call.machine:
            status, user = MACHINE_STATUS, "VDAD"
        else:
            status, user = "INCALL", call.answered_by
        self._run(
            epoch,
            "UPDATE vicidial_log SET end_epoch = %s, length_in_sec = %s, status = %s, "
            "user = %s WHERE uniqueid = %s",
            epoch,
            epoch - call.start,
            status,
            user,
            call.uniqueid,
        )

    def _carrier(self, call: _Call, epoch: int, dialstatus: str) -> None:
        answered = 0 if call.start is None else epoch - call.start
        self._run(
            epoch,
            "INSERT INTO vicidial_carrier_log (uniqueid, call_date, server_ip, lead_id, "
            "dialstatus, dial_time, answered_time) "
            "VALUES (%s, FROM_UNIXTIME(%s), %s, %s, %s, %s, %s)",
            call.uniqueid,
            call.dialed,
            SERVER_IP,
            _lead(call),
            dialstatus,
            (call.start if call.start is not None else epoch) - call.dialed,
            answered,
        )

    def _queued(self, call: _Call, epoch: int) -> None:
        call.inbound = True
        call.closecallid = self._next("closer_log")
        self._run(
            epoch,
            "INSERT INTO vicidial_closer_log (closecallid, lead_id, campaign_id, call_date, "
            "start_epoch, status, user, queue_seconds, uniqueid) "
            "VALUES (%s, %s, %s, FROM_UNIXTIME(%s), %s, 'QUEUE', 'VDCL', 0, %s)",
            call.closecallid,
            _lead(call),
            ingroup_code(call.campaign),
            epoch,
            epoch,
            call.uniqueid,
        )

    def _queue_end(self, call: _Call, epoch: int, abandoned: bool) -> None:
        if call.answered_by:
            self._run(
                epoch,
                "UPDATE vicidial_closer_log SET end_epoch = %s, length_in_sec = %s, "
                "term_reason = 'CALLER' WHERE closecallid = %s",
                epoch,
                epoch - call.dialed,
                call.closecallid,
            )
            return
        timed_out = abandoned and epoch - call.dialed >= QUEUE_TIMEOUT_S
        self._run(
            epoch,
            "UPDATE vicidial_closer_log SET end_epoch = %s, length_in_sec = %s, status = %s, "
            "term_reason = %s WHERE closecallid = %s",
            epoch,
            epoch - call.dialed,
            "TIMEOT" if timed_out else "DROP",
            "QUEUETIMEOUT" if timed_out else "ABANDON",
            call.closecallid,
        )


def _pause_code(event: AgentStateChanged) -> str:
    return PAUSE_CODES.get(canonical(str(event.reason)), "OTHER")


def _lead(call: _Call) -> int:
    return int(call.uniqueid.split(".")[1])


def campaign_statuses(campaigns: Iterable[str]) -> list[Statement]:
    """The site's own dispositions, flagged as calls a person answered, as a VICIdial admin
    defines them (vicidial_campaign_statuses)."""
    out = []
    for campaign in sorted(campaigns):
        for code in sorted(set(DISPOSITIONS.values()) - SYSTEM_STATUSES):
            out.append(
                Statement(
                    0,
                    "INSERT INTO vicidial_campaign_statuses (status, status_name, selectable, "
                    "campaign_id, human_answered) VALUES (%s, %s, 'Y', %s, 'Y')",
                    (code, code.title(), campaign_code(campaign)),
                )
            )
    return out


def execute(connection: pymysql.connections.Connection, statements: Sequence[Statement]) -> None:
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement.sql, statement.args)
