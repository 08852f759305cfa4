"""An Asterisk Manager Interface of the tests' own, on loopback: it replays a capture's events
to whoever logs in with the right user and secret, as Asterisk 22 sent them, each with the
`Timestamp` header that `timestampevents = yes` adds (from the capture's `# recv` times).

It answers Login, QueueStatus (from what it has replayed so far: members, pauses, calls,
callers waiting), Ping and Logoff. Told to, it drops the connection halfway through a message;
the next session goes on from that message, as if Asterisk had held its events meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

CRLF = "\r\n"


@dataclass
class Block:
    recv_ms: int
    lines: list[str]

    def header(self, key: str) -> str:
        prefix = f"{key}: "
        return next((line[len(prefix) :] for line in self.lines if line.startswith(prefix)), "")


def capture_blocks(path: Path) -> list[Block]:
    """The events of a floorpulse capture, less the answers to its own session's actions."""
    blocks: list[Block] = []
    recv, lines = 0, []
    for raw in path.read_bytes().decode().split(CRLF):
        if raw.startswith("# recv "):
            recv = int(raw.split()[2])
        elif raw.startswith("#"):
            continue
        elif raw:
            lines.append(raw)
        elif lines:
            block = Block(recv, lines)
            if lines[0].startswith("Event: ") and not block.header("ActionID").startswith("cap-"):
                blocks.append(block)
            lines = []
    return blocks


@dataclass
class Member:
    interface: str
    paused: str = "0"
    reason: str = ""
    in_call: str = "0"
    last_call: str = "0"


@dataclass
class Replayed:
    """What the events replayed so far say of the queues, for QueueStatus."""

    members: dict[tuple[str, str], Member] = field(default_factory=dict)
    waiting: dict[str, tuple[str, int]] = field(default_factory=dict)
    queues: set[str] = field(default_factory=set)
    now_ms: int = 0

    def apply(self, block: Block) -> None:
        event, queue = block.header("Event"), block.header("Queue")
        self.now_ms = block.recv_ms
        if queue:
            self.queues.add(queue)
        key = (queue, block.header("MemberName"))
        if event == "QueueMemberAdded":
            self.members[key] = Member(block.header("Interface"))
        elif event == "QueueMemberRemoved":
            self.members.pop(key, None)
        elif event == "QueueMemberPause" and key in self.members:
            member = self.members[key]
            member.paused, member.reason = block.header("Paused"), block.header("PausedReason")
        elif event == "AgentConnect" and key in self.members:
            self.members[key].in_call = "1"
        elif event == "AgentComplete" and key in self.members:
            self.members[key].in_call = "0"
            self.members[key].last_call = str(block.recv_ms // 1000)
        elif event == "QueueCallerJoin":
            self.waiting[block.header("Uniqueid")] = (queue, block.recv_ms)
        elif event == "QueueCallerLeave":
            self.waiting.pop(block.header("Uniqueid"), None)


class FakeAmi:
    def __init__(
        self, capture: Path, user: str, secret: str, *, drop_halfway: bool = False
    ) -> None:
        self.blocks = capture_blocks(capture)
        self.user, self.secret = user, secret
        self.drop_at = len(self.blocks) // 2 if drop_halfway else None
        self.cursor = 0
        self.replayed = Replayed()
        self.logins: list[str] = []
        """"accepted" or "refused", one per login asked for."""
        self.drops = 0
        self._loop = asyncio.new_event_loop()
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self.port = 0

    def start(self) -> FakeAmi:
        self._thread.start()
        assert self._started.wait(30), "the fake AMI did not start"
        return self

    def stop(self) -> None:
        if self._thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self._shut(), self._loop)
            done.result(30)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    async def _shut(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._sessions):
            task.cancel()
        await asyncio.gather(*self._sessions, return_exceptions=True)
        await self._server.wait_closed()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._session, "127.0.0.1", 0)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._started.set()
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._sessions.add(task)
        try:
            await self._serve(reader, writer)
        finally:
            self._sessions.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"Asterisk Call Manager/11.0.0\r\n")
        streaming: asyncio.Task[None] | None = None
        logged_in = False
        try:
            while (action := await _read_action(reader)) is not None:
                name, action_id = action.get("Action", ""), action.get("ActionID", "")
                if name == "Login":
                    logged_in = (action.get("Username"), action.get("Secret")) == (
                        self.user,
                        self.secret,
                    )
                    self.logins.append("accepted" if logged_in else "refused")
                    if not logged_in:
                        writer.write(
                            _message(
                                Response="Error",
                                ActionID=action_id,
                                Message="Authentication failed",
                            )
                        )
                        await writer.drain()
                        break
                    writer.write(
                        _message(
                            Response="Success",
                            ActionID=action_id,
                            Message="Authentication accepted",
                        )
                    )
                elif name == "QueueStatus" and logged_in and streaming is None:
                    writer.write(self._snapshot(action_id))
                    streaming = asyncio.create_task(self._stream(writer))
                elif name == "Ping":
                    writer.write(_message(Response="Success", ActionID=action_id, Ping="Pong"))
                elif name == "Logoff":
                    writer.write(_message(Response="Goodbye", ActionID=action_id))
                    break
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            if streaming is not None:
                streaming.cancel()
                await asyncio.gather(streaming, return_exceptions=True)
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        while self.cursor < len(self.blocks):
            block = self.blocks[self.cursor]
            data = _render(block.lines, block.recv_ms)
            if self.cursor == self.drop_at and not self.drops:
                self.drops += 1
                writer.write(data[: len(data) // 2])
                await writer.drain()
                writer.transport.abort()
                return
            writer.write(data)
            self.replayed.apply(block)
            self.cursor += 1
            if self.cursor % 50 == 0:
                await writer.drain()
        await writer.drain()

    def _snapshot(self, action_id: str) -> bytes:
        replayed = self.replayed
        now = replayed.now_ms or self.blocks[0].recv_ms
        out = [
            _message(
                Response="Success",
                ActionID=action_id,
                EventList="start",
                Message="Queue status will follow",
            )
        ]
        items = 0
        for queue in sorted(replayed.queues):
            out.append(
                _event(now, "QueueParams", Queue=queue, Strategy="rrmemory", ActionID=action_id)
            )
            for (in_queue, name), m in sorted(replayed.members.items()):
                if in_queue == queue:
                    out.append(
                        _event(
                            now,
                            "QueueMember",
                            Queue=queue,
                            Name=name,
                            Location=m.interface,
                            Membership="dynamic",
                            LastCall=m.last_call,
                            InCall=m.in_call,
                            Status="1",
                            Paused=m.paused,
                            PausedReason=m.reason,
                            ActionID=action_id,
                        )
                    )
            waiting = sorted((ms, uid) for uid, (q, ms) in replayed.waiting.items() if q == queue)
            for position, (joined, uid) in enumerate(waiting, 1):
                out.append(
                    _event(
                        now,
                        "QueueEntry",
                        Queue=queue,
                        Position=str(position),
                        Uniqueid=uid,
                        Wait=str((now - joined) // 1000),
                        ActionID=action_id,
                    )
                )
            items = len(out) - 1
        out.append(
            _event(
                now,
                "QueueStatusComplete",
                ActionID=action_id,
                EventList="Complete",
                ListItems=str(items),
            )
        )
        return b"".join(out)


async def _read_action(reader: asyncio.StreamReader) -> dict[str, str] | None:
    action: dict[str, str] = {}
    while True:
        raw = await reader.readline()
        if not raw:
            return None
        line = raw.decode().rstrip("\r\n")
        if not line:
            if action:
                return action
            continue
        key, _, value = line.partition(": ")
        action[key] = value


def _render(lines: list[str], ms: int) -> bytes:
    stamped = [*lines, f"Timestamp: {ms // 1000}.{ms % 1000:03d}000"]
    return (CRLF.join(stamped) + CRLF + CRLF).encode()


def _event(ms: int, name: str, **headers: str) -> bytes:
    lines = [f"Event: {name}", *(f"{key}: {value}" for key, value in headers.items())]
    return _render(lines, ms)


def _message(**headers: str) -> bytes:
    return (CRLF.join(f"{key}: {value}" for key, value in headers.items()) + CRLF + CRLF).encode()


def connect(
    server: FakeAmi, secret: str, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`floorpulse connect asterisk --ami` to the server, as an operator runs it, until it ends
    (the test fails after 5 minutes)."""
    environment = {**os.environ, **(env or {}), "FLOORPULSE_AMI_SECRET": secret}
    command = [sys.executable, "-m", "streams.cli", "connect", "asterisk"]
    command += ["--ami", f"127.0.0.1:{server.port}", "--ami-user", server.user, *args]
    return subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=300, check=False
    )
