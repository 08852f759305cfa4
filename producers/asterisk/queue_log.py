"""Asterisk's queue_log, a line at a time, to contract events: a pure translation.

A line is `epoch|callid|queue|agent|VERB|data1|data2|...` (apps/app_queue.c), in whole seconds.
Each line's events have ids `{source}:{file}:{offset}:{what}`, where `file` identifies the file by
its first line (renaming, copying or rotating it keeps its ids) and `offset` is the line's
position in it, so that reading a line again gives duplicates the engine ignores.

A dialer's call in an outbound queue is connected within the second its CONNECT is stamped
with, so its connect is placed at that second's end: a whole-second log cannot tell a connect 1.1
from 2.9 seconds after the answer, and the two-second rule then counts every connect that may
have been late (an upper bound on abandons, never an under-count).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, NamedTuple

from producers.asterisk.config import AsteriskSource
from producers.asterisk.core import Core
from producers.asterisk.recovery import restarted
from producers.asterisk.state import State
from producers.asterisk.tally import Tally
from streams.events import Event

NONE: Final = "NONE"


class Line(NamedTuple):
    ts: int
    callid: str
    queue: str
    agent: str
    verb: str
    data: tuple[str, ...]

    def seconds(self, index: int) -> int:
        """A duration field in milliseconds; 0 when absent or not a number (the caller's time
        is then taken as the line's own)."""
        if -len(self.data) <= index < len(self.data):
            text = self.data[index]
            if text.isdigit():
                return int(text) * 1000
        return 0


def parse(text: str) -> Line:
    """One line, or ValueError saying why it is not one."""
    fields = text.split("|")
    if len(fields) < 5:
        raise ValueError(f"{len(fields)} field(s), not epoch|callid|queue|agent|VERB|data...")
    epoch, callid, queue, agent, verb, *data = fields
    whole, _, fraction = epoch.partition(".")
    if not whole.isdigit() or not (fraction == "" or fraction.isdigit()) or int(whole) == 0:
        raise ValueError(f"{epoch[:40]!r} is no epoch time")
    ms = int(whole) * 1000 + (int(fraction[:3].ljust(3, "0")) if fraction else 0)
    if not verb:
        raise ValueError("no verb")
    return Line(ms, callid, queue, agent, verb, tuple(data))


Handler = Callable[["QueueLogTranslator", Line, str], None]


class QueueLogTranslator:
    """Lines in, events out; `state` is what a checkpoint keeps beside the offset."""

    def __init__(self, config: AsteriskSource, state: State | None = None) -> None:
        self.core = Core(config, state)
        self.config = config
        self.tally = Tally()
        self.latest = self.core.state.clock
        """The time of the latest line read."""
        self._by_interface: set[str] = set()
        self._acting: set[str] = set()

    @property
    def state(self) -> State:
        return self.core.state

    def line(self, raw: bytes, file_id: str, offset: int, number: int) -> list[Event]:
        """The events of one line, `offset` bytes into the file `file_id` (line `number`)."""
        text = raw.decode("utf-8", "replace").strip()
        if not text:
            return []
        tally = self.tally
        tally.records += 1
        try:
            line = parse(text)
        except ValueError as exc:
            tally.problem(f"line {number}", str(exc))
            return []
        self.latest = max(self.latest, line.ts)
        self.core.advance(line.ts)
        handler = HANDLERS.get(line.verb)
        if handler is None:
            if line.verb in QUIET:
                tally.quiet[line.verb] += 1
            else:
                tally.unknown_kind(line.verb, f"line {number}")
        else:
            tally.translated[line.verb] += 1
            handler(self, line, f"{file_id}:{offset}")
        return self.core.take()

    def advance(self, ts: int) -> list[Event]:
        """What has happened by `ts` with no line of its own (wrap-ups that ended)."""
        self.core.advance(ts)
        return self.core.take()

    def finish(self) -> list[Event]:
        """The log has ended: wrap-ups still running end as configured."""
        self.core.finish()
        apart = sorted(self._by_interface - self._acting)
        if apart and self._acting:
            shown = ", ".join(apart[:3]) + (f" and {len(apart) - 3} more" if len(apart) > 3 else "")
            self.tally.hints.append(
                f"ADDMEMBER/REMOVEMEMBER name {shown} by interface, and no call or pause does: "
                "map them to member names ([sources.asterisk] interfaces or interface_patterns), "
                "or set log_membername_as_agent = yes in queues.conf"
            )
        return self.core.take()

    # One method per verb. `record` is the line's identity for its events' ids.

    def _entered(self, line: Line, record: str) -> None:
        self.core.queued(line.ts, record, line.callid, line.queue)

    def _connected(self, line: Line, record: str) -> None:
        ts = line.ts + 999 if line.queue in self.config.outbound_queues else line.ts
        self._acting.add(line.agent)
        self.core.connected(
            ts, record, line.callid, line.queue, line.agent, held_ms=line.seconds(0)
        )

    def _completed(self, line: Line, record: str) -> None:
        # COMPLETE*: holdtime|calltime|position; transfers end with the same three.
        at = 0 if line.verb.startswith("COMPLETE") else -3
        self._acting.add(line.agent)
        self.core.completed(
            line.ts,
            record,
            line.callid,
            line.queue,
            line.agent,
            held_ms=line.seconds(at),
            talked_ms=line.seconds(at + 1),
        )

    def _abandoned(self, line: Line, record: str) -> None:
        # position|original position|waittime; EXITWITHKEY has the key first.
        waited = line.seconds(3 if line.verb == "EXITWITHKEY" else 2)
        self.core.abandoned(line.ts, record, line.callid, line.queue, waited)

    def _rung(self, line: Line, record: str) -> None:
        self._acting.add(line.agent)
        self.core.seen(line.ts, record, line.agent, line.queue)

    def _paused(self, line: Line, record: str) -> None:
        self._acting.add(line.agent)
        reason = line.data[0] if line.data else ""
        self.core.paused(line.ts, record, line.agent, line.queue, reason)

    def _unpaused(self, line: Line, record: str) -> None:
        self._acting.add(line.agent)
        self.core.unpaused(line.ts, record, line.agent, line.queue)

    def _added(self, line: Line, record: str) -> None:
        name, interface = self._member(line.agent)
        paused = bool(line.data) and line.data[0] == "PAUSED"
        self.core.joined(line.ts, record, name, line.queue, interface, paused)

    def _removed(self, line: Line, record: str) -> None:
        name, _ = self._member(line.agent)
        self.core.removed(line.ts, record, name, line.queue)

    def _member(self, agent: str) -> tuple[str, str]:
        """(member name, interface) of the agent field of ADDMEMBER and REMOVEMEMBER, which is
        the interface unless Asterisk logs member names there."""
        name = self.config.member_name(agent)
        if name == agent and "/" in agent:
            self._by_interface.add(agent)
        return name, agent if name != agent else ""

    def _logged_on(self, line: Line, record: str) -> None:
        self.core.logged_on(line.ts, record, line.agent)

    def _logged_off(self, line: Line, record: str) -> None:
        self.core.logged_off(line.ts, record, line.agent)

    def _started(self, line: Line, record: str) -> None:
        restarted(self.core, line.ts, record)


HANDLERS: Final[dict[str, Handler]] = {
    "ENTERQUEUE": QueueLogTranslator._entered,
    "CONNECT": QueueLogTranslator._connected,
    "COMPLETEAGENT": QueueLogTranslator._completed,
    "COMPLETECALLER": QueueLogTranslator._completed,
    "TRANSFER": QueueLogTranslator._completed,
    "BLINDTRANSFER": QueueLogTranslator._completed,
    "ATTENDEDTRANSFER": QueueLogTranslator._completed,
    "ABANDON": QueueLogTranslator._abandoned,
    "EXITWITHTIMEOUT": QueueLogTranslator._abandoned,
    "EXITEMPTY": QueueLogTranslator._abandoned,
    "EXITWITHKEY": QueueLogTranslator._abandoned,
    "RINGNOANSWER": QueueLogTranslator._rung,
    "RINGCANCELED": QueueLogTranslator._rung,
    "PAUSE": QueueLogTranslator._paused,
    "UNPAUSE": QueueLogTranslator._unpaused,
    "ADDMEMBER": QueueLogTranslator._added,
    "REMOVEMEMBER": QueueLogTranslator._removed,
    "AGENTLOGIN": QueueLogTranslator._logged_on,
    "AGENTLOGOFF": QueueLogTranslator._logged_off,
    "QUEUESTART": QueueLogTranslator._started,
}
QUIET: Final = frozenset(
    {
        # QueuePause without a queue: one PAUSE or UNPAUSE per queue follows.
        "PAUSEALL",
        "UNPAUSEALL",
        "CONFIGRELOAD",
        "PENALTY",
        "INFO",
        "DID",
        # The connect failed or the agent hung up before it: the caller goes on waiting.
        "SYSCOMPAT",
        "AGENTDUMP",
    }
)
