"""`floorpulse replay`: a recorded log back into Kafka, keyed as the contract says, at any speed."""

from __future__ import annotations

import argparse
import itertools
import sys
from typing import TYPE_CHECKING, Final

from streams.cli import argtypes, outage

if TYPE_CHECKING:
    import asyncio
    from collections.abc import Callable, Iterable

    from producers.kafka_async import KafkaSender
    from producers.progress import Progress
    from producers.replay import ReplayOptions, ReplayReport

DESCRIPTION: Final = """\
Send a log (JSON Lines, gzip when compressed, - for standard input) into Kafka: agent.* lines to
dialer.agent-events keyed by agent_id, call.* lines to dialer.call-events keyed by campaign_id,
in file order (so every key keeps its order), paced by their event time (ts) at --speed.

Lines go as they are, invalid events included, so that a worker's dead-letter path sees them
too; one whose key field is missing goes with a null key. A line that cannot be routed at all
(not JSON, not an object, no agent.* or call.* type) is not sent: it is counted and named by its
line number at the end. A line without a valid ts goes at once.

--shift-to-now moves every ts by one offset so that the first line sent happens now: a recorded
day then plays as if it were happening (at --speed 1, its event time follows the clock). Every
interval between events stays exactly as recorded; a line without a valid ts is sent unchanged.

--from and --to select by the log's own event time, before any shift. TIME is an ISO time such
as 2026-01-05T08:00Z (UTC unless it has an offset), epoch milliseconds, now, or relative to now
(now-2h, now-1h30m, now+8h). --from-line N starts with the log's line N (the first is 1).

A broker that goes away while lines wait is waited for: within seconds a line says it is
unreachable, then one a minute while the outage lasts, and one when it takes lines again; the
replay goes on from where it was. After --retry-for without the broker taking anything, it gives
up and names the first line the broker may not have, with the command that resumes from it
(--from-line; some lines after it may have reached the broker already: a worker drops repeated
events). With --shift-to-now, the resumed lines are shifted to the time they are resumed at.

Exit status: 0 when the broker took every line sent, 1 if it refused any or could not be
reached, 130 after Ctrl-C (what was sent by then is delivered first; a second Ctrl-C gives up on
it at once and names the line to resume from).

Examples:
  floorpulse replay day.jsonl.gz --speed max         as fast as the broker takes it
  floorpulse replay day.jsonl.gz --speed 60          an hour of the day per minute
  floorpulse replay day.jsonl.gz --shift-to-now      a live demo from a real day
  floorpulse replay day.jsonl.gz --from 2026-01-05T12:00Z --to 2026-01-05T13:30Z --speed 10
  zcat day.jsonl.gz | grep team-03 | floorpulse replay - --speed max
  floorpulse replay day.jsonl.gz --speed 60 --from-line 10245    resume after an outage

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "replay",
        help="send a recorded log back into Kafka, paced by event time at any speed",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("log", metavar="LOG", help="log file (.jsonl or .jsonl.gz), or - for stdin")
    parser.add_argument(
        "--speed",
        type=argtypes.speed,
        default=1.0,
        metavar="FACTOR",
        help="1 is real time, 60 is a minute of event time per second, max is as fast as "
        "possible (1)",
    )
    parser.add_argument(
        "--shift-to-now",
        action="store_true",
        help="move every ts by one offset so that the first line sent happens now",
    )
    parser.add_argument(
        "--from",
        dest="from_ms",
        type=argtypes.moment,
        metavar="TIME",
        help="send only lines from this event time on (the log's time, before any shift)",
    )
    parser.add_argument(
        "--to",
        dest="to_ms",
        type=argtypes.moment,
        metavar="TIME",
        help="send only lines before this event time (the log's time, before any shift)",
    )
    parser.add_argument(
        "--from-line",
        type=_line_number,
        default=1,
        metavar="N",
        help="start with line N of the log (1 is the first): what a replay that gave up says "
        "to resume with",
    )
    outage.add_retry_option(parser)
    parser.set_defaults(run=run)


def _line_number(text: str) -> int:
    try:
        number = int(text.replace(",", "").replace("_", ""))
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"expected a line number, 1 or more, got {text!r}")
    return number


def run(args: argparse.Namespace) -> int:
    import asyncio
    import gzip
    import zlib

    from producers.kafka_async import require_topics
    from producers.replay import ReplayOptions, ReplayReport
    from producers.sinks import SinkError
    from streams.logfile import open_log
    from streams.settings import load_settings
    from streams.topics import DIALER_TOPICS

    if args.from_ms is not None and args.to_ms is not None and args.to_ms <= args.from_ms:
        print("floorpulse replay: --to must be later than --from", file=sys.stderr)
        return 2
    bootstrap = load_settings().kafka_bootstrap
    retry_for = outage.retry_for_s(args.retry_for)
    options = ReplayOptions(
        speed=None if args.speed == "max" else args.speed,
        shift_to_now=args.shift_to_now,
        from_ms=args.from_ms,
        to_ms=args.to_ms,
        from_line=args.from_line,
    )
    report = ReplayReport()
    resume = _resume_command(args)
    if not args.shift_to_now and args.log != "-":
        warning = _far_from_now(args.log)
        if warning:
            print(f"floorpulse replay: warning: {warning}", file=sys.stderr)
    try:
        with open_log(args.log) as lines:
            require_topics(bootstrap, DIALER_TOPICS, timeout_s=10.0)
            status, problem = asyncio.run(
                _send(args.log, lines, bootstrap, options, report, retry_for, resume)
            )
    except SinkError as exc:
        print(f"floorpulse replay: {exc}", file=sys.stderr)
        return 1
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        # Opening fails before anything is sent; a log that breaks later is reported below.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"floorpulse replay: cannot read {args.log}: {reason}", file=sys.stderr)
        return 1
    print(_summary(report, bootstrap, problem, resume), file=sys.stderr)
    return status


async def _send(
    log: str,
    lines: Iterable[bytes],
    bootstrap: str,
    options: ReplayOptions,
    report: ReplayReport,
    retry_for: float,
    resume_command: Callable[[int], str],
) -> tuple[int, str | None]:
    """Exit status and what went wrong, if anything did."""
    import asyncio
    import contextlib

    from producers.interrupt import stop_on_signals
    from producers.kafka_async import KafkaSender
    from producers.progress import Progress, log_size
    from producers.replay import resume_line, watch
    from streams.outage_log import duration, uninstall

    stop = asyncio.Event()
    stop_on_signals(stop)
    progress = Progress(sys.stderr, "sent", total=log_size(log)) if sys.stderr.isatty() else None
    clear = None if progress is None else progress.clear
    kafka, held_back = outage.watch_outages("replay", bootstrap, retry_for, clear)
    try:
        sender = await KafkaSender.connect(bootstrap, retry_for_s=retry_for)
        work = asyncio.create_task(_deliver(log, lines, sender, options, report, stop, progress))
        watcher = asyncio.create_task(watch(sender, kafka, retry_for))
        now = asyncio.create_task(_second_request(stop, sender, clear))
        try:
            done, _ = await asyncio.wait({work, watcher, now}, return_when=asyncio.FIRST_COMPLETED)
            if work in done:
                problem = work.result()
                if problem is None:
                    kafka.up()  # if it was down: the broker has taken everything since
            else:
                # Given up: the replay (or its flush) is cancelled, and aiokafka let go of.
                work.cancel()
                await sender.abort()
                with contextlib.suppress(asyncio.CancelledError):
                    await work
        finally:
            for task in (watcher, now):
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await sender.abort()
    finally:
        uninstall(held_back)
    if work not in done:
        resume = resume_line(report, sender)
        unconfirmed = f"{_lines(sender.waiting())} not confirmed by the broker"
        if watcher in done:
            why = (
                f"line {watcher.result():,} waited {duration(retry_for)} for the broker to take "
                "it (--retry-for): gave up"
            )
        else:
            why = "stopped at once on a second request"
        problem = (
            f"{why}, {unconfirmed}; every line before line {resume:,} reached it (some after it "
            f"may have too). Resume with: {resume_command(resume)}"
        )
        return (1 if watcher in done else 130), problem
    if sender.refused:
        refused = f"the broker refused {sender.refused:,} message(s), the first because: "
        problem = refused + f"{sender.first_refusal}" + (f"; {problem}" if problem else "")
    if problem is not None:
        return 1, problem
    return (130 if report.interrupted_at is not None else 0), None


async def _deliver(
    log: str,
    lines: Iterable[bytes],
    sender: KafkaSender,
    options: ReplayOptions,
    report: ReplayReport,
    stop: asyncio.Event,
    progress: Progress | None,
) -> str | None:
    """Replay, then wait for the broker to take everything sent; what went wrong, if anything."""
    import gzip
    import zlib

    from producers.interrupt import sleep_unless
    from producers.replay import replay
    from producers.sinks import SinkError

    problem: str | None = None
    try:
        await replay(
            lines,
            sender.send,
            options,
            sleep=lambda seconds: sleep_unless(stop, seconds),
            stopped=stop.is_set,
            progress=None if progress is None else progress.update,
            report=report,
        )
    except SinkError as exc:
        problem = str(exc)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        problem = f"cannot read {log} further: {reason}"
    finally:
        if progress is not None:
            progress.clear()
    await sender.close()
    return problem


async def _second_request(
    stop: asyncio.Event, sender: KafkaSender, clear: Callable[[], None] | None
) -> None:
    """Return at a second Ctrl-C (or SIGTERM): the first asks the replay to stop and the broker
    to take what was sent, which waits for a broker that is away."""
    import asyncio

    from producers.interrupt import SIGNALS

    await stop.wait()
    now = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in SIGNALS:
        loop.add_signal_handler(number, now.set)
    try:
        if sender.waiting():
            if clear is not None:
                clear()
            print(
                f"floorpulse replay: stopping once the broker has taken the "
                f"{_lines(sender.waiting())} sent; Ctrl-C again to give up on them now",
                file=sys.stderr,
                flush=True,
            )
        await now.wait()
    finally:
        for number in SIGNALS:
            loop.remove_signal_handler(number)


FAR_FROM_NOW_MS: Final = 86_400_000


def _far_from_now(log: str) -> str | None:
    """A warning when the log's event time is a day or more from now: replayed as it is into a
    live floor, its events are late for everyone live there (a worker counts them apart)."""
    import json
    import time

    from streams.logfile import open_log

    try:
        with open_log(log) as lines:
            for line in itertools.islice(lines, 1000):
                try:
                    ts = json.loads(line).get("ts")
                except (ValueError, AttributeError, RecursionError):
                    continue
                if type(ts) is int:
                    break
            else:
                return None
    except (OSError, EOFError, ValueError):
        return None  # said when the log is read for sending
    away = ts - time.time_ns() // 1_000_000
    if abs(away) < FAR_FROM_NOW_MS:
        return None
    days = abs(away) / FAR_FROM_NOW_MS
    direction = "ago" if away < 0 else "from now"
    return (
        f"this log's events begin {days:,.1f} days {direction}: replayed as they are into a live"
        " floor, they are late for everyone live there (its workers count them apart);"
        " --shift-to-now replays them as if they happened now"
    )


def _resume_command(args: argparse.Namespace) -> Callable[[int], str]:
    """The command that replays the same log the same way from a given line."""
    import shlex

    parts = ["floorpulse", "replay", shlex.quote(args.log)]
    if args.speed != 1.0:
        parts += ["--speed", "max" if args.speed == "max" else f"{args.speed:g}"]
    if args.shift_to_now:
        parts.append("--shift-to-now")
    if args.from_ms is not None:
        parts += ["--from", str(args.from_ms)]
    if args.to_ms is not None:
        parts += ["--to", str(args.to_ms)]
    if args.retry_for is not None:
        parts += ["--retry-for", outage.shown_duration(args.retry_for)]
    return lambda number: " ".join([*parts, "--from-line", str(number)])


def _summary(
    report: ReplayReport, bootstrap: str, problem: str | None, resume: Callable[[int], str]
) -> str:
    from producers.when import iso
    from streams.topics import AGENT_EVENTS, CALL_EVENTS

    sent = report.total_sent
    text = (
        f"floorpulse replay: {_lines(sent)} to Kafka at {bootstrap} "
        f"(agent {report.sent[AGENT_EVENTS]:,}, call {report.sent[CALL_EVENTS]:,}"
        + (f", {report.null_keys:,} with a null key" if report.null_keys else "")
        + ")"
    )
    if report.first_ts is not None and report.last_ts is not None:
        text += f", event time {iso(report.first_ts)} to {iso(report.last_ts)}"
    if report.shift_ms is not None:
        text += f" shifted by {report.shift_ms / 3_600_000:+,.2f} h"
    rate = sent / report.elapsed_s if report.elapsed_s > 0 else 0.0
    text += f", {report.elapsed_s:.1f} s wall, {rate:,.0f} lines/s"
    notes = []
    if report.skipped:
        notes.append(f"{_lines(report.skipped)} before --from-line left out")
    if report.out_of_range:
        notes.append(f"{_lines(report.out_of_range)} outside --from/--to left out")
    if report.blank:
        notes.append(f"{_lines(report.blank, 'blank line')} skipped")
    if report.unroutable:
        listed = "; ".join(f"line {n}: {why}" for n, why in report.unroutable_lines)
        more = report.unroutable - len(report.unroutable_lines)
        notes.append(
            f"{_lines(report.unroutable, 'unroutable line')} NOT sent ({listed}"
            + (f"; and {more:,} more" if more else "")
            + ")"
        )
    if report.interrupted_at is not None:
        at = report.interrupted_at
        notes.append(f"interrupted: lines from {at:,} on not sent (resume with: {resume(at)})")
    if problem is not None:
        notes.append(f"FAILED: {problem}")
    return "\n".join([text, *(f"  {note}" for note in notes)])


def _lines(count: int, what: str = "line") -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"
