"""`analyze --jobs N`: one log folded by N processes, each owning the agents and campaigns given
to it, and their partial floors merged.

The parent reads the log in chunks of whole lines and decodes of each line only what routes it:
its type, its key (the agent for agent events, the campaign for call events, as Kafka keys them)
and its event id. Each key seen for the first time is given for good to the process that has been
given the fewest lines so far, so that every event of an agent or a campaign is folded by the same
process, in the log's order: each partial floor is the floor of its keys, and the engine's
`Floor.merge` puts them together.

Duplicates are found across the whole log: an event is a duplicate when a valid event with its id
came before it, whatever its key. A process finds those among its own lines; the parent remembers
which process got each id, and when an id comes back for another process (rare: a duplicate is
the same event again, with the same key) it asks the processes that had it whether they applied
it, after every line before it, and has the line counted as a duplicate if one did. Only the
processes know which lines are valid, so the parent cannot decide this alone.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import multiprocessing
import signal
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import reduce
from multiprocessing.connection import Connection
from operator import attrgetter, or_
from typing import TYPE_CHECKING, Final, cast

import msgspec

from streams.codec import InvalidEvent, decode
from streams.engine import EventCounts, Floor, Params
from streams.events import AGENT_EVENT_TYPES, EVENT_TYPES, type_name
from streams.logfile import READ_ERRORS, whole_lines
from streams.logfold import WATCHED, Fold

if TYPE_CHECKING:
    from multiprocessing.process import BaseProcess

    from streams.analyze import Reading

CHUNK_BYTES: Final = 1 << 18
"""The parent's chunk: each process gets its share of one in a single message."""
PIPE_BYTES: Final = 1 << 20
"""Linux's default limit for a pipe's size without privileges."""
SPREAD: Final = -1
"""In the parent's ids: an id that more than one process has been given."""


class JobFailed(Exception):
    """A folding process ended before giving its part back."""


class _Route(msgspec.Struct, frozen=True, gc=False):
    event_id: str


class _AgentRoute(_Route, frozen=True, tag_field="type"):
    key: str = msgspec.field(name="agent_id")


class _CallRoute(_Route, frozen=True, tag_field="type"):
    key: str = msgspec.field(name="campaign_id")


def _routes() -> tuple[type[msgspec.Struct], ...]:
    """One route type per event type, tagged like the events, so that `type` is read as the
    full decoder reads it (a repeated `type` that disagrees fails both)."""
    return tuple(
        msgspec.defstruct(
            f"Route{event_type.__name__}",
            [],
            bases=(_AgentRoute if event_type in AGENT_EVENT_TYPES else _CallRoute,),
            tag=type_name(event_type),
            frozen=True,
        )
        for event_type in EVENT_TYPES
    )


_route_decoder: Final[msgspec.json.Decoder[_AgentRoute | _CallRoute]] = msgspec.json.Decoder(
    reduce(or_, _routes())
)
_KEY: Final = attrgetter("key")
_EVENT_ID: Final = attrgetter("event_id")


@dataclass
class _Part:
    """What a process gives back."""

    floor: Floor
    counts: EventCounts
    latest: list[tuple[int, int]]


def _work(
    lines: Connection, answers: Connection, params: Params, foreign: list[Connection]
) -> None:
    """A folding process: chunks of its lines in, its part out at the end."""
    # Ctrl-C is the parent's to handle: it ends the processes.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked process holds copies of the parent's ends of every pipe made so far; closed, a
    # process that dies is seen as gone by the parent rather than waited for.
    for conn in foreign:
        conn.close()
    gc.disable()  # as in fold_lines: a fold makes no reference cycles
    fold = Fold(params)
    try:
        while True:
            message = lines.recv()
            kind = message[0]
            if kind == "lines":
                _, chunk, numbers = message
                fold.feed_routed(chunk, numbers)
            elif kind == "applied?":
                answers.send(message[1] in fold.seen)
            elif kind == "repeat":
                fold.repeat(message[1])
            else:
                answers.send(_Part(fold.floor, fold.counts(), fold.latest))
                return
    except EOFError:
        return  # the parent is gone


def _widen(conn: Connection) -> None:
    """Let the pipe hold several chunks (Linux), so that the parent reads on while a process is
    busy with the chunks before instead of waiting for each in turn."""
    # On another system, or under a lower limit, smaller pipes only cost some speed.
    with contextlib.suppress(AttributeError, OSError):
        fcntl.fcntl(conn.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)


@dataclass
class _Job:
    process: BaseProcess
    lines_to: Connection
    answers: Connection
    given: int = 0
    """Lines given so far, sent or not."""
    lines: list[bytes] = field(default_factory=list)
    numbers: list[int] = field(default_factory=list)


class _Router:
    """The parent: routes lines to the processes and merges what they give back."""

    def __init__(self, params: Params, jobs: int) -> None:
        context = multiprocessing.get_context("fork")
        self.params = params
        self.jobs: list[_Job] = []
        self.owners: dict[str, int] = {}
        """Which process owns each key (agent and campaign ids share it: an agent and a campaign
        of the same name go to the same process, which harms nothing)."""
        self.ids: dict[str, int] = {}
        """Which process got each event id, or SPREAD."""
        self.spread: dict[str, set[int]] = {}
        self.invalid = 0
        """Lines the parent knows are no event (they could not be routed)."""
        mine: list[Connection] = []
        for _ in range(jobs):
            lines_from, lines_to = context.Pipe(duplex=False)
            answers, answers_to = context.Pipe(duplex=False)
            _widen(lines_to)
            mine += (lines_to, answers)
            process = context.Process(
                target=_work, args=(lines_from, answers_to, params, list(mine)), daemon=True
            )
            process.start()
            lines_from.close()
            answers_to.close()
            self.jobs.append(_Job(process, lines_to, answers))

    def route(self, chunk: bytes, first: int) -> int:
        """Give a chunk's lines (numbered from `first + 1`) to their processes; returns how many
        lines it held."""
        lines = chunk.split(b"\n")
        lines.pop()
        self._route_chunk(lines, first)
        for job in self.jobs:
            self._flush(job)
        return len(lines)

    def _route_chunk(self, lines: list[bytes], first: int) -> None:
        try:
            routes = list(map(_route_decoder.decode, lines))
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            self._route_each(lines, first, 0)
            return
        # Every line has a route: the common case, done by loops in C.
        keys, ids = list(map(_KEY, routes)), list(map(_EVENT_ID, routes))
        owners = self._owners(keys)
        firsts = list(map(self.ids.setdefault, ids, owners))
        numbers = range(first + 1, first + 1 + len(lines))
        if firsts == owners:
            self._give(lines, owners, numbers)
            return
        # An id came back for another process: from there on, line by line.
        back = next(
            i for i, (was, now) in enumerate(zip(firsts, owners, strict=True)) if was != now
        )
        self._give(lines[:back], owners[:back], numbers[:back])
        self._route_each(lines, first, back)

    def finish(self) -> tuple[Floor, EventCounts, list[tuple[int, int]]]:
        """Every process's part, merged."""
        for job in self.jobs:
            self._flush(job)
            self._send(job, ("end",))
        floor, counts, latest = Floor(self.params), EventCounts(), []
        for job in self.jobs:
            part = self._receive(job)
            assert isinstance(part, _Part)
            floor.merge(part.floor)
            for name in ("lines", "valid", "invalid", "duplicate", "late"):
                setattr(counts, name, getattr(counts, name) + getattr(part.counts, name))
            latest += part.latest
        counts.lines += self.invalid
        counts.invalid += self.invalid
        return floor, counts, sorted(latest)[-WATCHED:]

    def stop(self) -> None:
        for job in self.jobs:
            job.lines_to.close()
            job.answers.close()
            if job.process.is_alive():
                job.process.terminate()
            job.process.join()

    def _owners(self, keys: list[str]) -> list[int]:
        """The process of each key, new keys given theirs."""
        found = list(map(self.owners.get, keys))
        if None in found:
            for i, key in enumerate(keys):
                if found[i] is None:
                    owner = self.owners.get(key)
                    found[i] = self._new_owner(key, found[:i]) if owner is None else owner
        return cast(list[int], found)

    def _new_owner(self, key: str, before: list[int | None]) -> int:
        """Give a key for good to the process given the fewest lines so far, counting those
        `before` it in the chunk that are not given yet."""
        given = [job.given + before.count(n) for n, job in enumerate(self.jobs)]
        owner = self.owners[key] = given.index(min(given))
        return owner

    def _give(self, lines: list[bytes], owners: list[int], numbers: range) -> None:
        # A loop in Python, yet faster than a selection in C per process.
        held = [len(job.lines) for job in self.jobs]
        add_line = [job.lines.append for job in self.jobs]
        add_number = [job.numbers.append for job in self.jobs]
        for line, number, owner in zip(lines, numbers, owners, strict=True):
            add_line[owner](line)
            add_number[owner](number)
        for job, before in zip(self.jobs, held, strict=True):
            job.given += len(job.lines) - before

    def _route_each(self, lines: list[bytes], first: int, start: int) -> None:
        """Route lines one at a time, from `start`: lines that do not decode as a route are
        decoded whole here (they are invalid, or repeat a key), and an id that comes back for
        another process is settled with the processes that had it."""
        for i in range(start, len(lines)):
            line, number = lines[i], first + 1 + i
            route = self._route(line)
            if route is None:
                continue
            key, event_id = route
            owner = self.owners.get(key)
            if owner is None:
                owner = self._new_owner(key, [])
            job = self.jobs[owner]
            was = self.ids.setdefault(event_id, owner)
            if was != owner and self._applied_elsewhere(event_id, was, owner):
                self._flush(job)
                self._send(job, ("repeat", line))
            else:
                job.lines.append(line)
                job.numbers.append(number)
            job.given += 1

    def _route(self, line: bytes) -> tuple[str, str] | None:
        """A line's key and event id, or None for a blank line or one that is no event."""
        try:
            route = _route_decoder.decode(line)
        except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
            pass
        else:
            return route.key, route.event_id
        if not line.strip():
            return None
        try:
            event = decode(line)
        except InvalidEvent:
            self.invalid += 1
            return None
        key = event.agent_id if isinstance(event, AGENT_EVENT_TYPES) else event.campaign_id
        return key, event.event_id

    def _applied_elsewhere(self, event_id: str, was: int, owner: int) -> bool:
        """Whether a process other than `owner` that was given this id applied it (after every
        line given to it before); from now on the id is known to be spread."""
        had = self.spread.get(event_id, set()) if was == SPREAD else {was}
        self.spread[event_id] = had | {owner}
        self.ids[event_id] = SPREAD
        applied = False
        for n in sorted(had - {owner}):
            job = self.jobs[n]
            self._flush(job)
            self._send(job, ("applied?", event_id))
            applied = bool(self._receive(job)) or applied
        return applied

    def _flush(self, job: _Job) -> None:
        if job.lines:
            job.lines.append(b"")
            self._send(job, ("lines", b"\n".join(job.lines), job.numbers))
            job.lines, job.numbers = [], []

    def _send(self, job: _Job, message: tuple[object, ...]) -> None:
        try:
            job.lines_to.send(message)
        except OSError:
            raise JobFailed(self._ended(job)) from None

    def _receive(self, job: _Job) -> object:
        try:
            return job.answers.recv()
        except (EOFError, OSError):
            raise JobFailed(self._ended(job)) from None

    def _ended(self, job: _Job) -> str:
        job.process.join(timeout=5)
        code = job.process.exitcode
        how = f"killed by signal {-code}" if code is not None and code < 0 else f"status {code}"
        return f"a folding process ended before the end of the log ({how})"


def fold_in_jobs(
    log: Iterable[bytes],
    params: Params,
    reading: Reading,
    jobs: int,
    chunk_bytes: int = CHUNK_BYTES,
) -> tuple[Floor, EventCounts]:
    """fold_lines with `jobs` processes (see the module's doc), reading chunks of whole lines of
    about `chunk_bytes`."""
    router = _Router(params, jobs)
    try:
        try:
            for chunk in whole_lines(log, chunk_bytes):
                reading.lines += router.route(chunk, reading.lines)
        except READ_ERRORS as exc:
            reading.stopped = str(exc) or type(exc).__name__
        floor, counts, reading.latest = router.finish()
    finally:
        router.stop()
    return floor, counts
