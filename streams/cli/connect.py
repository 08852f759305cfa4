"""`floorpulse connect`: a real dialer's own records, translated into contract events."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import TYPE_CHECKING, Final

from streams.cli import connect_vicidial

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable, Iterator
    from pathlib import Path

    from producers.asterisk.config import AsteriskSource
    from producers.asterisk.sources import Run
    from producers.asterisk.tally import Tally
    from producers.output import Output
    from producers.progress import Progress

SECRET_VARIABLE: Final = "FLOORPULSE_AMI_SECRET"
AMI_PORT: Final = 5038

ASTERISK: Final = """\
Translate what an Asterisk floor (app_queue) writes into contract events (revision 1.1) and
send them to Kafka: agent events to dialer.agent-events keyed by agent_id, call events to
dialer.call-events keyed by campaign_id. With --out, write JSON Lines instead (gzip when FILE
ends in .gz, - for standard output), for `floorpulse analyze`.

One source:
  --queue-log PATH    Asterisk's queue_log (often /var/log/asterisk/queue_log), read whole; with
                      --follow, read as Asterisk appends to it, across rotation and truncation,
                      keeping a checkpoint (--checkpoint FILE, default under .floorpulse/): the
                      file, the offset of the next line and what was known of the floor there,
                      so that a restarted adapter goes on where it stopped.
  --ami HOST:PORT     the Asterisk Manager Interface, live (port 5038 if left out), as
                      --ami-user; the secret comes from FLOORPULSE_AMI_SECRET only, never a flag.
                      It asks for a snapshot of the queues at every connect (QueueStatus), so
                      people already logged in or paused are known, and reconnects with backoff
                      when the connection drops (Asterisk does not send again what happened
                      meanwhile: the snapshot settles who is where). An event's time is its
                      Timestamp (`timestampevents = yes` in manager.conf), else its arrival.
  --ami-capture FILE  a file of what an AMI session received (`# recv <epoch ms>` lines before
                      each message, or a plain transcript), each event at its recorded time.

The floor's mapping is [sources.asterisk] of --config FILE (or FLOORPULSE_CONFIG): queue to
campaign (default: the queue's name), member name or interface to team (default: unassigned),
each queue's wrapuptime (default 0), interface to member name for queue_log's ADDMEMBER and
REMOVEMEMBER lines, outbound queues, the source name. Pause reasons go as Asterisk has them;
[codes] aliases map a site's codes (NAMAZ = "prayer").

What becomes what: a member added is ready (paused if added paused), paused when paused in
every queue they are in (with the reason; asked for during a call, from the call's end),
on_call from CONNECT/AgentConnect, wrap_up for the queue's wrapuptime after the call,
logged_out when removed from every queue; a caller entering
a queue is call.queued, connected is call.connected, a completed call is call.ended, and
ABANDON, EXITWITHTIMEOUT, EXITEMPTY, EXITWITHKEY (QueueCallerAbandon, or QueueCallerLeave with
no AgentConnect) are call.abandoned. Event ids come from the file and offset of a line, or from
an AMI event's Uniqueid: reading the same records again gives duplicates the engine ignores.

Records it cannot translate (an unknown verb, a line that does not parse) are counted and named
at the end; they never stop it. Progress shows on a terminal, and a summary at the end.

--until-idle SECONDS ends a live source (--follow, --ami) after that long without a line or an
event; wrap-ups still running then end as configured. Ctrl-C (or SIGTERM) ends it too.

Exit status: 0 when every event was delivered; 1 when the sink refused some, a file cannot be
read, or the AMI refused the login or was never reached; 2 for a bad option or configuration;
130 after Ctrl-C.

Examples:
  floorpulse connect asterisk --queue-log /var/log/asterisk/queue_log --follow --config floor.toml
  FLOORPULSE_AMI_SECRET=... floorpulse connect asterisk --ami pbx:5038 --ami-user floorpulse
  floorpulse connect asterisk --queue-log queue_log --out - | floorpulse analyze - --format text

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "connect",
        help="a real dialer's records (Asterisk, VICIdial) as events, to Kafka or a file",
        description="Translate a real dialer's own records into contract events.",
    )
    dialers = parser.add_subparsers(dest="dialer", required=True, metavar="DIALER")
    asterisk = dialers.add_parser(
        "asterisk",
        help="Asterisk queues (app_queue): queue_log, followed or whole, or the AMI",
        description=ASTERISK,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    source = asterisk.add_mutually_exclusive_group(required=True)
    source.add_argument("--queue-log", metavar="PATH", help="Asterisk's queue_log file")
    source.add_argument("--ami", metavar="HOST:PORT", help="the AMI to read live")
    source.add_argument("--ami-capture", metavar="FILE", help="a capture of an AMI session")
    asterisk.add_argument(
        "--follow", action="store_true", help="with --queue-log: read it as it grows"
    )
    asterisk.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="with --queue-log: where to keep the position (--follow's default: "
        ".floorpulse/checkpoints/asterisk-NAME-DIGEST.json; without --follow, none)",
    )
    asterisk.add_argument(
        "--ami-user", metavar="USER", help="with --ami: the manager.conf user (read = agent)"
    )
    asterisk.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration, for [sources.asterisk] (default $FLOORPULSE_CONFIG)",
    )
    asterisk.add_argument(
        "--until-idle",
        type=seconds,
        metavar="SECONDS",
        help="with --follow or --ami: stop after this long without a line or an event",
    )
    asterisk.add_argument(
        "--out", metavar="FILE", help="write JSON Lines to FILE (.gz, - for stdout), not Kafka"
    )
    asterisk.set_defaults(run=run)
    connect_vicidial.register(dialers)


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected seconds, more than 0, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    from producers.asterisk.config import AsteriskSource
    from streams.config import ConfigError, load

    problem = _misused(args)
    if problem is not None:
        return _fail(problem, 2)
    try:
        config = load(args.config).config.sources.asterisk or AsteriskSource()
    except ConfigError as exc:
        return _fail(str(exc), 2)
    if args.ami is not None:
        return _run_ami(args, config)
    return _run_file(args, config)


def _misused(args: argparse.Namespace) -> str | None:
    if args.follow and args.queue_log is None:
        return "--follow is for --queue-log"
    if args.checkpoint is not None and args.queue_log is None:
        return "--checkpoint is for --queue-log"
    if args.ami is not None and not args.ami_user:
        return "--ami needs --ami-user USER (its secret comes from FLOORPULSE_AMI_SECRET)"
    if args.ami_user is not None and args.ami is None:
        return "--ami-user is for --ami"
    if args.until_idle is not None and not (args.follow or args.ami):
        return "--until-idle is for the live sources, --follow and --ami"
    if args.ami is not None and not os.environ.get(SECRET_VARIABLE):
        return f"--ami needs the user's secret in {SECRET_VARIABLE}"
    if args.ami is not None and any(c in os.environ[SECRET_VARIABLE] for c in "\r\n"):
        return f"{SECRET_VARIABLE} holds a line end, which no AMI secret can"
    if args.ami_user is not None and any(c in args.ami_user for c in "\r\n:"):
        return "--ami-user holds a line end or a colon, which no AMI user can"
    return None


def _fail(problem: str, status: int) -> int:
    print(f"floorpulse connect asterisk: {problem}", file=sys.stderr)
    return status


def _run_file(args: argparse.Namespace, config: AsteriskSource) -> int:
    """--queue-log, whole or followed, and --ami-capture: read in this thread."""
    import time
    from pathlib import Path

    from producers.asterisk.checkpoint import CheckpointError
    from producers.sinks import SinkError

    path = Path(args.queue_log or args.ami_capture)
    if not args.follow and not path.is_file():
        return _fail(f"cannot read {path}: no such file", 1)
    began = time.perf_counter()
    try:
        output, to = open_output(args, "floorpulse-asterisk")
    except SinkError as exc:
        return _fail(str(exc), 1)
    try:
        try:
            with stop_on_signals() as stop:
                if args.ami_capture is not None:
                    tally, done = _read_capture(path, config, output, stop)
                    kind, source = "event", f"the AMI capture {path}"
                else:
                    tally, done = _read_queue_log(args, path, config, output, stop)
                    kind, source = "line", f"queue_log {path}"
        finally:
            output.sink.close()
    except (SinkError, CheckpointError) as exc:
        return _fail(str(exc), 1)
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror or exc}", 1)
    _summarise(output, to, source, tally, kind, began, done)
    return 130 if done.stopped_by == "request" else 0


def _read_capture(
    path: Path, config: AsteriskSource, output: Output, stop: threading.Event
) -> tuple[Tally, Run]:
    from producers.asterisk.ami import AmiTranslator
    from producers.asterisk.sources import read_ami_capture

    translator = AmiTranslator(config)
    progress = _progress(None)
    if progress is not None:
        output.progress = progress.update
    try:
        with path.open(encoding="utf-8", errors="replace", newline="") as lines:
            return translator.tally, read_ami_capture(lines, translator, output, stop=stop)
    finally:
        if progress is not None:
            progress.clear()


def _read_queue_log(
    args: argparse.Namespace,
    path: Path,
    config: AsteriskSource,
    output: Output,
    stop: threading.Event,
) -> tuple[Tally, Run]:
    from pathlib import Path

    from producers.asterisk import checkpoint
    from producers.asterisk.follow import Position, QueueLogFile
    from producers.asterisk.queue_log import QueueLogTranslator
    from producers.asterisk.sources import read_queue_log
    from producers.asterisk.state import State

    kept = Path(args.checkpoint) if args.checkpoint else None
    if kept is None and args.follow:
        kept = checkpoint.default_path(path)
    found = checkpoint.load(kept, path) if kept is not None else None
    translator = QueueLogTranslator(config, found.state if found else None)
    file = QueueLogFile(path, found.position if found else None, follow=args.follow)
    progress = _progress(None if args.follow else file.size())
    if progress is not None:

        def show(events: int, event_ts: int | None) -> None:
            position = file.position
            progress.update(events, event_ts, position.offset if position else 0)

        output.progress = show

    def save(position: Position, state: State) -> None:
        assert kept is not None
        checkpoint.save(kept, checkpoint.Checkpoint(str(path), position, state))

    try:
        done = read_queue_log(
            file,
            translator,
            output,
            save=None if kept is None else save,
            until_idle_s=args.until_idle,
            stop=stop,
        )
    finally:
        if progress is not None:
            progress.clear()
    if kept is not None:
        done.notes.append(f"checkpoint: {kept}")
    return translator.tally, done


def _run_ami(args: argparse.Namespace, config: AsteriskSource) -> int:
    import asyncio
    import time

    from producers.asterisk.ami import AmiTranslator
    from producers.asterisk.ami_client import AmiRefused, AmiRun, Login, listen
    from producers.interrupt import stop_on_signals
    from producers.sinks import SinkError

    host, colon, port = args.ami.rpartition(":")
    if not colon:
        host, port = args.ami, str(AMI_PORT)
    if not host or not port.isdigit():
        return _fail(f"--ami {args.ami!r}: expected HOST:PORT", 2)
    login = Login(host.strip("[]"), int(port), args.ami_user, os.environ[SECRET_VARIABLE])
    began = time.perf_counter()
    try:
        output, to = open_output(args, "floorpulse-asterisk")
    except SinkError as exc:
        return _fail(str(exc), 1)
    translator = AmiTranslator(config)
    progress = _progress(None)
    say = _say if progress is None else _say_clearing(progress)
    if progress is not None:
        output.progress = progress.update

    async def main() -> AmiRun:
        stop = asyncio.Event()
        stop_on_signals(stop)
        return await listen(
            login, translator, output, stop=stop, until_idle_s=args.until_idle, say=say
        )

    try:
        try:
            done = asyncio.run(main())
        finally:
            output.sink.close()
            if progress is not None:
                progress.clear()
    except (AmiRefused, SinkError) as exc:
        return _fail(str(exc), 1)
    source = f"the AMI at {login.address}"
    if not done.sessions:
        done.notes.append(f"FAILED: the AMI at {login.address} was never reached")
    _summarise(output, to, source, translator.tally, "event", began, done)
    if done.stopped_by == "request":
        return 130
    return 0 if done.sessions else 1


def _summarise(
    output: Output, to: str, source: str, tally: Tally, kind: str, began: float, done: Run
) -> None:
    import time

    from producers.asterisk.ami_client import AmiRun
    from producers.asterisk.summary import summary

    notes = list(done.notes)
    if done.untimed:
        notes.append(f"{done.untimed:,} event(s) with no time (no # recv line, no Timestamp)")
    ended = {"idle": "--until-idle reached", "request": "stopped on request"}.get(done.stopped_by)
    if isinstance(done, AmiRun) and done.reconnects:
        ended = f"{done.reconnects} reconnect(s)" + (f", {ended}" if ended else "")
    text = summary(
        to=to,
        source=source,
        sent=output.sent,
        tally=tally,
        elapsed_s=time.perf_counter() - began,
        kind=kind,
        ended=ended,
        notes=notes,
    )
    print(text, file=sys.stderr)


def open_output(args: argparse.Namespace, client_id: str) -> tuple[Output, str]:
    """The sink the events go to, and its name for the summary; SinkError if it cannot."""
    from producers.output import Output
    from producers.sinks import JsonLinesSink, KafkaSink, Sink
    from streams.settings import load_settings

    if args.out is not None:
        sink: Sink = JsonLinesSink(args.out)
        return Output(sink), "stdout" if args.out == "-" else args.out
    bootstrap = load_settings().kafka_bootstrap
    return Output(KafkaSink(bootstrap, client_id=client_id)), f"Kafka at {bootstrap}"


def _progress(total: int | None) -> Progress | None:
    from producers.progress import Progress

    return Progress(sys.stderr, "sent", total=total) if sys.stderr.isatty() else None


def _say(text: str) -> None:
    print(f"floorpulse connect asterisk: {text}", file=sys.stderr, flush=True)


def _say_clearing(progress: Progress) -> Callable[[str], None]:
    """Say a line where the progress line is, which redraws itself after it."""

    def say(text: str) -> None:
        progress.clear()
        _say(text)

    return say


@contextlib.contextmanager
def stop_on_signals() -> Iterator[threading.Event]:
    """An event set at the first SIGINT or SIGTERM, after which both act as if never caught;
    the handlers from before are back at the end."""
    import signal
    import threading

    stop = threading.Event()
    numbers = (signal.SIGINT, signal.SIGTERM)
    before = {number: signal.getsignal(number) for number in numbers}

    def restore() -> None:
        for number, handler in before.items():
            signal.signal(number, signal.SIG_DFL if handler is None else handler)

    def requested(number: int, frame: object) -> None:
        stop.set()
        restore()

    for number in numbers:
        signal.signal(number, requested)
    try:
        yield stop
    finally:
        restore()
