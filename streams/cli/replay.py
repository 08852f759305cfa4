"""`floorpulse replay`: a recorded log back into Kafka, keyed as the contract says, at any speed."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Final

from streams.cli import argtypes

if TYPE_CHECKING:
    from collections.abc import Iterable

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
(now-2h, now-1h30m, now+8h).

Exit status: 0 when the broker took every line sent, 1 if it refused any or could not be
reached, 130 after Ctrl-C (what was sent by then is delivered first; a second Ctrl-C aborts).

Examples:
  floorpulse replay day.jsonl.gz --speed max         as fast as the broker takes it
  floorpulse replay day.jsonl.gz --speed 60          an hour of the day per minute
  floorpulse replay day.jsonl.gz --shift-to-now      a live demo from a real day
  floorpulse replay day.jsonl.gz --from 2026-01-05T12:00Z --to 2026-01-05T13:30Z --speed 10
  zcat day.jsonl.gz | grep team-03 | floorpulse replay - --speed max

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
    parser.set_defaults(run=run)


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
    options = ReplayOptions(
        speed=None if args.speed == "max" else args.speed,
        shift_to_now=args.shift_to_now,
        from_ms=args.from_ms,
        to_ms=args.to_ms,
    )
    report = ReplayReport()
    try:
        with open_log(args.log) as lines:
            require_topics(bootstrap, DIALER_TOPICS, timeout_s=10.0)
            status, problem = asyncio.run(_send(args.log, lines, bootstrap, options, report))
    except SinkError as exc:
        print(f"floorpulse replay: {exc}", file=sys.stderr)
        return 1
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        # Opening fails before anything is sent; a log that breaks later is reported below.
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"floorpulse replay: cannot read {args.log}: {reason}", file=sys.stderr)
        return 1
    print(_summary(report, bootstrap, problem), file=sys.stderr)
    return status


async def _send(
    log: str,
    lines: Iterable[bytes],
    bootstrap: str,
    options: ReplayOptions,
    report: ReplayReport,
) -> tuple[int, str | None]:
    """Exit status and what went wrong, if anything did."""
    import asyncio
    import gzip
    import zlib

    from producers.interrupt import sleep_unless, stop_on_signals
    from producers.kafka_async import KafkaSender
    from producers.progress import Progress, log_size
    from producers.replay import replay
    from producers.sinks import SinkError

    stop = asyncio.Event()
    stop_on_signals(stop)
    progress = Progress(sys.stderr, "sent", total=log_size(log)) if sys.stderr.isatty() else None
    sender = await KafkaSender.connect(bootstrap)
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
    if sender.refused:
        refused = f"the broker refused {sender.refused:,} message(s), the first because: "
        problem = refused + f"{sender.first_refusal}" + (f"; {problem}" if problem else "")
    if problem is not None:
        return 1, problem
    return (130 if report.interrupted_at is not None else 0), None


def _summary(report: ReplayReport, bootstrap: str, problem: str | None) -> str:
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
        notes.append(f"interrupted: lines from {report.interrupted_at:,} on not sent")
    if problem is not None:
        notes.append(f"FAILED: {problem}")
    return "\n".join([text, *(f"  {note}" for note in notes)])


def _lines(count: int, what: str = "line") -> str:
    return f"{count:,} {what}{'' if count == 1 else 's'}"
