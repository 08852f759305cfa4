"""A small asyncio AMI client: log in, ask for a snapshot of the queues (QueueStatus), read
events into the translation, and reconnect with backoff when the connection drops.

Our own reader rather than panoramisk (last release 2021, lightly maintained, untyped): AMI's
framing is a few lines, and the adapter needs what a general client hides: every message in
order with the time it arrived, a snapshot at each connect before any event is lost, a login
refusal told apart from an outage, and no secret in any message.

Exceptions:

    AmiRefused(Exception)   the AMI refused the login: a wrong user or secret, which retrying
                            cannot mend; the message names the user and never the secret
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.ami_wire import Message, action, parse, timestamp_ms
from producers.asterisk.sources import Run
from producers.output import Output
from producers.when import wall_ms as wall_clock_ms

BANNER: Final = b"Asterisk Call Manager"
MARGIN_MS: Final = 2000
"""While the AMI is quiet, time is taken to pass as on the clock, less this, so that a timer
(a wrap-up's end) never fires ahead of an event still on its way."""
TICK_S: Final = 0.25
OUTAGE_SAID_EVERY_S: Final = 60.0
FLUSH_EVERY_S: Final = 0.5


class AmiRefused(Exception):
    """The AMI refused the login."""


class _Broken(Exception):
    """The connection is unusable (closed, silent, not an AMI): try again later."""


@dataclass
class AmiRun(Run):
    sessions: int = 0
    reconnects: int = 0
    events: int = 0


@dataclass(frozen=True)
class Login:
    host: str
    port: int
    user: str
    secret: str = field(repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass
class Timing:
    backoff_s: tuple[float, float] = (0.5, 30.0)
    """The first wait before trying again, and the longest (it doubles in between)."""
    timeout_s: float = 10.0
    """For connecting and for each answer of the login."""
    ping_s: float = 20.0
    """A Ping after this long without a message; the connection is dropped after twice this."""
    clock: Callable[[], float] = time.monotonic
    wall_ms: Callable[[], int] = wall_clock_ms


async def listen(
    login: Login,
    translator: AmiTranslator,
    output: Output,
    *,
    stop: asyncio.Event,
    until_idle_s: float | None,
    say: Callable[[str], None],
    timing: Timing | None = None,
) -> AmiRun:
    """Read the AMI until asked to stop or idle (no event for `until_idle_s`), reconnecting
    whenever the connection drops. At the end, wrap-ups still running end as configured."""
    timing = timing or Timing()
    run = AmiRun()
    listener = _Listener(login, translator, output, run, timing, until_idle_s)
    delay = timing.backoff_s[0]
    said, said_at = "", -OUTAGE_SAID_EVERY_S
    while not stop.is_set():
        try:
            ended = await listener.session(stop, say)
        except _Broken as exc:
            if listener.idle():
                run.stopped_by = "idle"
                break
            if listener.was_useful:
                delay = timing.backoff_s[0]
            # One line per kind of trouble, and one a minute while it lasts.
            if str(exc) != said or timing.clock() - said_at >= OUTAGE_SAID_EVERY_S:
                say(f"the AMI at {login.address}: {exc}; trying again in {delay:g} s")
                said, said_at = str(exc), timing.clock()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            delay = min(delay * 2, timing.backoff_s[1])
            continue
        run.stopped_by = ended
        break
    else:
        run.stopped_by = "request"
    output.send(translator.finish())
    output.flush()
    return run


class _Listener:
    def __init__(
        self,
        login: Login,
        translator: AmiTranslator,
        output: Output,
        run: AmiRun,
        timing: Timing,
        until_idle_s: float | None,
    ) -> None:
        self.login, self.translator, self.output, self.run = login, translator, output, run
        self.timing, self.until_idle_s = timing, until_idle_s
        self.heard = timing.clock()
        """When the latest event arrived (idleness is counted from it, across reconnects)."""
        self.was_useful = False
        self._last_ts = 0
        self._last_flush = self._connected = timing.clock()

    def idle(self) -> bool:
        limit = self.until_idle_s
        return limit is not None and self.timing.clock() - self.heard >= limit

    async def session(
        self, stop: asyncio.Event, say: Callable[[str], None]
    ) -> Literal["idle", "request"]:
        """One connection, from login until it drops (_Broken) or the run ends."""
        self.was_useful = False
        timing, login = self.timing, self.login
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(login.host, login.port), timing.timeout_s
            )
        except (OSError, TimeoutError) as exc:
            raise _Broken(f"cannot connect ({_why(exc)})") from None
        messages: asyncio.Queue[Message | None] = asyncio.Queue()
        reading: asyncio.Task[None] | None = None
        try:
            number = self.run.sessions + 1
            await self._log_in(reader, writer, number)
            self.run.sessions = number
            self._connected = timing.clock()
            if number > 1:
                self.run.reconnects += 1
                say(
                    f"connected again to the AMI at {login.address}: its QueueStatus settles "
                    "what changed meanwhile"
                )
            writer.write(action("QueueStatus", f"floorpulse-queues-{number}"))
            reading = asyncio.create_task(_read_all(reader, messages))
            ended = await self._pump(messages, writer, stop)
            writer.write(action("Logoff", f"floorpulse-logoff-{number}"))
            return ended
        finally:
            if reading is not None:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
            writer.close()
            with contextlib.suppress(OSError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), 1.0)

    async def _log_in(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, number: int
    ) -> None:
        timeout, login = self.timing.timeout_s, self.login
        try:
            banner = await asyncio.wait_for(reader.readline(), timeout)
            if not banner.startswith(BANNER):
                raise _Broken(f"no AMI banner (it said {banner[:40]!r})")
            action_id = f"floorpulse-login-{number}"
            writer.write(
                action("Login", action_id, Username=login.user, Secret=login.secret, Events="agent")
            )
            while True:
                lines = await asyncio.wait_for(_read_message(reader), timeout)
                if lines is None:
                    raise _Broken("the connection closed during the login")
                answer = parse(lines)
                if answer.get("ActionID") == action_id and "Response" in answer:
                    break
        except (OSError, TimeoutError, ValueError) as exc:
            raise _Broken(f"the login got no answer ({_why(exc)})") from None
        if answer["Response"] != "Success":
            said = answer.get("Message") or answer["Response"]
            raise AmiRefused(
                f"the AMI at {login.address} refused user {login.user!r}: {said} (check the "
                "user in manager.conf and the secret in FLOORPULSE_AMI_SECRET)"
            )

    async def _pump(
        self,
        messages: asyncio.Queue[Message | None],
        writer: asyncio.StreamWriter,
        stop: asyncio.Event,
    ) -> Literal["idle", "request"]:
        timing, run, translator = self.timing, self.run, self.translator
        clock = timing.clock
        received = pinged = clock()
        while True:
            if stop.is_set():
                return "request"
            try:
                message = await asyncio.wait_for(messages.get(), TICK_S)
            except TimeoutError:
                now = clock()
                if self.idle():
                    return "idle"
                if now - received >= 2 * timing.ping_s:
                    raise _Broken(f"nothing heard for {2 * timing.ping_s:g} s") from None
                if now - received >= timing.ping_s and pinged < received:
                    writer.write(action("Ping", "floorpulse-ping"))
                    pinged = now
                self._tick(now)
                continue
            if message is None:
                raise _Broken("the connection closed")
            received = clock()
            if "Event" not in message:
                continue
            run.events += 1
            self.heard = received
            self.was_useful = True
            ts = timestamp_ms(message) or timing.wall_ms()
            self._last_ts = max(self._last_ts, ts)
            where = f"AMI event {run.events:,}"
            self.output.send(translator.event(message, ts, where))
            if received - self._last_flush >= FLUSH_EVERY_S:
                self._flush(received)

    def _tick(self, now: float) -> None:
        """Let time pass while the AMI is quiet: a wrap-up that ended shows without waiting
        for the next event."""
        if self._last_ts:
            # Not across a reconnect: what happened meanwhile is for the snapshot to say.
            since = max(self.heard, self._connected)
            passed = self._last_ts + int((now - since) * 1000) - MARGIN_MS
            self.output.send(self.translator.advance(passed))
        self._flush(now)

    def _flush(self, now: float) -> None:
        self.output.flush()
        self._last_flush = now


async def _read_all(reader: asyncio.StreamReader, messages: asyncio.Queue[Message | None]) -> None:
    """Every message of the connection into `messages`, then None at its end."""
    try:
        while True:
            lines = await _read_message(reader)
            if lines is None:
                break
            messages.put_nowait(parse(lines))
    except (OSError, ValueError):
        pass
    messages.put_nowait(None)


async def _read_message(reader: asyncio.StreamReader) -> list[str] | None:
    """The lines of the next message, or None at the end of the connection (a message cut off
    by it is dropped: Asterisk never half-sends one, so a cut means the connection broke)."""
    lines: list[str] = []
    while True:
        raw = await reader.readline()
        if not raw.endswith(b"\n"):
            return None
        line = raw.decode("utf-8", "replace").rstrip("\r\n")
        if line:
            lines.append(line)
        elif lines:
            return lines


def _why(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return str(exc) or type(exc).__name__
