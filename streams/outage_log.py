"""Kafka outages in a log: one line when one starts, one a minute while it lasts, one when it ends.

While a broker is away, the Kafka clients log every failed attempt: about 80 lines a second in a
worker (aiokafka's fetcher, metadata and coordinator loops), thousands a second in a producer
with messages waiting. Those lines say one thing, and bury anything else said meanwhile.

    Outage         one outage's lines; no I/O of its own, thread-safe: told `down`, `up`, `tick`
    OutageFilter   a logging.Filter for the Kafka clients' loggers: holds their connection
                   errors back, counted, and (driving) starts and ends an Outage from them
    install()      one OutageFilter on every aiokafka and kafka-python logger

A worker calls `install()` once, before its clients start: the filter then starts an outage at
the first connection error, logs a line a minute while errors go on (through the logger
`floorpulse.kafka`, at WARNING), and ends it once no error has come for `quiet_s`. `record` and
`replay` know better when the broker answers (a delivery, a fetch): they install the filter
without driving, so that it only holds the clients' lines back and keeps the latest as the
reason, and they call `down` and `up` themselves.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final

KAFKA_LOGGERS: Final = ("aiokafka", "kafka")
"""The Kafka clients' logger hierarchies: aiokafka (Faust, record, replay) and kafka-python."""
LOGGER: Final = "floorpulse.kafka"
"""Where a driving filter's outage lines go by default."""
EVERY_S: Final = 60.0
QUIET_S: Final = 15.0
"""A driving filter ends an outage once no connection error has come for this long."""
REASON_CHARS: Final = 200

# A connection that fails, or a request that cannot go out for want of one: what starts an outage
# (aiokafka 0.14, kafka-python 3.0).
_FAILURE: Final = re.compile(
    r"unable (?:to )?connect|connect call failed|connection (?:refused|reset|error|failed|lost)"
    r"|connection at \S+ closed|connect attempt|kafkaconnectionerror|nodenotready"
    r"|not ready \(node|unable to (?:update|request) metadata|unable to bootstrap"
    r"|nobrokersavailable|dns lookup failed|broken pipe|socket disconnected"
    r"|error (?:receiving|sending) (?:network|request) data|: abort \(|no node available"
    r"|bootstrap (?:\S+ not ready|connection to|attempt to|failed)",
    re.IGNORECASE,
)
# Of those, the lines that say what is wrong (not "Unable to update metadata from [1]").
_TELLING: Final = re.compile(r"connect|refused|reset|closed|dns|broken pipe|errno", re.IGNORECASE)
# What the clients say about the same outage meanwhile (coordinators, heartbeats, fetches,
# produce retries): held back during an outage, but never the start of one, since a rebalance
# says some of it too.
_CONSEQUENCE: Final = re.compile(
    r"coordinator|heartbeat|failed fetch|produce response|metadata|leader|timed ?out|timeout"
    r"|disconnect|closed|not available|retry",
    re.IGNORECASE,
)


def duration(seconds: float) -> str:
    """45s, 3m05s, 1h02m."""
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    return f"{minutes // 60}h{minutes % 60:02d}m"


def one_line(text: str) -> str:
    """A client's message as one short line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= REASON_CHARS else flat[: REASON_CHARS - 1] + "…"


class Outage:
    """The lines of one outage at a time: `down` starts it (one line), `tick` adds a line a minute
    while it lasts, `up` ends it (one line). `held` counts the clients' lines held back meanwhile.

    `plan(down_for_s)` is appended to the first and the minute lines: what the program does
    about it ("; giving up in 4m00s").
    """

    def __init__(
        self,
        say: Callable[[str], None],
        *,
        what: str = "Kafka",
        every_s: float = EVERY_S,
        clock: Callable[[], float] = time.monotonic,
        plan: Callable[[float], str] | None = None,
    ) -> None:
        self._say = say
        self._what = what
        self._every_s = every_s
        self._clock = clock
        self._plan = plan
        self._lock = threading.RLock()
        self._since: float | None = None
        self._next_line = 0.0
        self.held = 0
        self.reason: str | None = None
        """The latest client error noted, if any."""

    @property
    def since(self) -> float | None:
        """When the outage began (the clock's time), or None while there is none."""
        return self._since

    def down_for(self) -> float | None:
        since = self._since
        return None if since is None else self._clock() - since

    def note(self, reason: str | None) -> None:
        """A client's line, held back: counted during an outage; its error, if given, is kept as
        the reason."""
        with self._lock:
            if reason is not None:
                self.reason = reason
            if self._since is not None:
                self.held += 1

    def down(self, reason: str | None = None, *, since: float | None = None) -> bool:
        """Start an outage (one line) unless one is on; True if this call started it. `since`:
        when it began, if earlier than now (the last time the broker answered)."""
        with self._lock:
            if reason is not None:
                self.reason = reason
            if self._since is not None:
                return False
            now = self._clock()
            self._since = now if since is None else min(since, now)
            self._next_line = self._since + self._every_s
            self.held = 0
            why = self.reason or "no answer"
            self._say(
                f"{self._what} unreachable ({why}); retrying, with a line a minute while this "
                f"lasts{self._planned(now - self._since)}"
            )
            return True

    def tick(self) -> None:
        """The minute line, if one is due."""
        with self._lock:
            if self._since is None:
                return
            now = self._clock()
            if now < self._next_line:
                return
            while self._next_line <= now:
                self._next_line += self._every_s
            self._say(
                f"{self._what} still unreachable after {duration(now - self._since)} "
                f"({self.held:,} client log line{'' if self.held == 1 else 's'} held back; the "
                f"latest: {self.reason or 'no answer'}){self._planned(now - self._since)}"
            )

    def up(self, *, at: float | None = None, how: str = "reachable again") -> bool:
        """End the outage (one line) if one is on; True if this call ended it. `at`: when it
        ended, if earlier than now."""
        with self._lock:
            if self._since is None:
                return False
            end = self._clock() if at is None else at
            self._say(
                f"{self._what} {how} after {duration(end - self._since)} ({self.held:,} client "
                f"log line{'' if self.held == 1 else 's'} held back)"
            )
            self._since = None
            self.held = 0
            self.reason = None
            return True

    def _planned(self, down_for: float) -> str:
        return "" if self._plan is None else self._plan(down_for)


class OutageFilter(logging.Filter):
    """For the Kafka clients' loggers: their connection errors (WARNING and up) are held back and
    noted in `outage` (the latest that tells what is wrong is its reason), and so is what they
    say about the same outage (coordinators, heartbeats, retries). Anything else passes.

    Driving, the filter also starts the outage at the first connection error and ends it once
    none has come for `quiet_s`; a thread of its own, alive only during an outage, writes the
    minute lines and the end. Outside an outage, what the clients say about coordinators and
    retries passes (a rebalance says some of it too). Not driving, the program calls
    `outage.down`/`up`/`tick`, and the filter holds back all of it at all times: the program
    says what matters.
    """

    def __init__(
        self,
        outage: Outage,
        *,
        drive: bool = True,
        quiet_s: float = QUIET_S,
        clock: Callable[[], float] = time.monotonic,
        watch_every_s: float = 1.0,
    ) -> None:
        super().__init__()
        self.outage = outage
        self._drive = drive
        self._quiet_s = quiet_s
        self._clock = clock
        self._watch_every_s = watch_every_s
        self._lock = threading.Lock()
        self._last_error = 0.0
        self._watcher: threading.Thread | None = None
        self._closed = threading.Event()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        try:
            text = record.getMessage()
        except Exception:  # a client's malformed log call: not ours to judge
            return True
        failure = _FAILURE.search(text) is not None or _connection_error(record)
        if not failure:
            held = (not self._drive or self.outage.since is not None) and bool(
                _CONSEQUENCE.search(text)
            )
            if held:
                self.outage.note(None)
            return not held
        reason = one_line(text) if _TELLING.search(text) or self.outage.reason is None else None
        with self._lock:
            self._last_error = self._clock()
            self.outage.note(reason)
            if self._drive and self.outage.down():
                self._watch()
        return False

    def close(self) -> None:
        """Stop the watching thread, if one runs (it is a daemon: this is for tests)."""
        self._closed.set()
        watcher = self._watcher
        if watcher is not None:
            watcher.join(timeout=10)

    def _watch(self) -> None:
        if self._watcher is not None and self._watcher.is_alive():
            return
        self._watcher = threading.Thread(target=self._run, name="outage-log", daemon=True)
        self._watcher.start()

    def _run(self) -> None:
        while not self._closed.wait(self._watch_every_s):
            with self._lock:
                if self.outage.since is None:
                    return
                self.outage.tick()
                if self._clock() - self._last_error >= self._quiet_s:
                    self.outage.up(
                        at=self._last_error,
                        how=f"connection errors ended ({duration(self._quiet_s)} without one)",
                    )
                    return


def _connection_error(record: logging.LogRecord) -> bool:
    """A record logged with a connection error as its exception (kafka-python logs tracebacks)."""
    error = record.exc_info[1] if record.exc_info else None
    return isinstance(error, ConnectionError | TimeoutError) or (
        error is not None and "Connection" in type(error).__name__
    )


def install(
    outage: Outage | None = None,
    *,
    drive: bool = True,
    quiet_s: float = QUIET_S,
    prefixes: Iterable[str] = KAFKA_LOGGERS,
) -> OutageFilter:
    """Put one OutageFilter on every logger of the Kafka clients (imported first, so that their
    loggers exist), in place of any installed before; return it. Without `outage`, the lines go
    to the logger `floorpulse.kafka` at WARNING."""
    names = tuple(prefixes)
    for package in ("aiokafka", "aiokafka.admin", "kafka"):
        try:
            importlib.import_module(package)
        except ImportError:
            continue
    if outage is None:
        outage = Outage(logging.getLogger(LOGGER).warning)
    installed = OutageFilter(outage, drive=drive, quiet_s=quiet_s)
    for logger in _loggers(names):
        for old in [f for f in logger.filters if isinstance(f, OutageFilter)]:
            logger.removeFilter(old)
            old.close()
        logger.addFilter(installed)
    return installed


def uninstall(installed: OutageFilter, prefixes: Iterable[str] = KAFKA_LOGGERS) -> None:
    """Take `installed` off the Kafka clients' loggers again."""
    for logger in _loggers(tuple(prefixes)):
        logger.removeFilter(installed)
    installed.close()


def _loggers(prefixes: tuple[str, ...]) -> list[logging.Logger]:
    names = set(prefixes)
    names.update(
        name
        for name in list(logging.root.manager.loggerDict)
        if any(name.startswith(prefix + ".") for prefix in prefixes)
    )
    return [logging.getLogger(name) for name in sorted(names)]
