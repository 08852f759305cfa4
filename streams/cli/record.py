"""`floorpulse record`: both dialer topics into a log, each event as it was, in each key's order."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Final

from producers.when import parse_duration_ms
from streams.cli import argtypes

if TYPE_CHECKING:
    from producers.kafka_async import Partition
    from producers.record import RecordOptions, RecordReport
    from producers.sinks import Sink

DESCRIPTION: Final = """\
Record dialer.agent-events and dialer.call-events into a log: JSON Lines (gzip when OUT ends in
.gz, - for standard output) holding each message's value as it was, one per line, every
partition in its order, so that every agent's and every campaign's events keep their order.
`floorpulse analyze` and `floorpulse replay` read it.

It reads with no consumer group (it assigns itself every partition and commits nothing), so no
worker's consumer group ever moves.

Start: from now on (the default), --from-beginning (all that Kafka retains), or --since TIME.
Stop: at --until TIME, after --until-idle SECONDS without a message, or at Ctrl-C, whichever
comes first. Ctrl-C (or SIGTERM) is a normal end: everything read is written, the file is
flushed and closed, and the exit status is 0 (a second Ctrl-C aborts at once).

TIME is Kafka's record time, when a message was written (the event time of a live floor, not
of a replayed one): an ISO time such as 2026-01-05T08:00Z (UTC unless it has an offset), epoch
milliseconds, now, or relative to now (now-2h, now-1h30m, now+8h). --since starts each partition
at its first message written then or later; --until ends each at its first message written then
or later or, once the clock has passed it, at the end the partition has then.

On a terminal it shows progress on standard error; a summary follows at the end.

Examples:
  floorpulse record day.jsonl.gz                                 from now until Ctrl-C
  floorpulse record day.jsonl.gz --until now+8h                  the next eight hours
  floorpulse record day.jsonl.gz --since 2026-01-05T08:00Z --until 2026-01-05T18:00Z
  floorpulse record all.jsonl.gz --from-beginning --until now    everything retained
  floorpulse record - --since now-15m --until now | floorpulse analyze - --format text

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""


ENDINGS: Final = {
    "until": "--until reached",
    "idle": "--until-idle reached",
    "request": "stopped on request",
}


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "record",
        help="record the dialer topics into a log (JSON Lines), every key in order",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "out", metavar="OUT", help="log file to write (.jsonl, or .jsonl.gz), or - for stdout"
    )
    start = parser.add_mutually_exclusive_group()
    start.add_argument(
        "--from-beginning",
        action="store_true",
        help="start with the oldest message Kafka retains (default: from now on)",
    )
    start.add_argument(
        "--since",
        type=argtypes.moment,
        metavar="TIME",
        help="start with messages written at TIME or later",
    )
    parser.add_argument(
        "--until",
        type=argtypes.moment,
        metavar="TIME",
        help="stop with messages written at TIME or later",
    )
    parser.add_argument(
        "--until-idle",
        type=_seconds,
        metavar="SECONDS",
        help="stop once no message has come for this long (seconds, or 30s, 5m...)",
    )
    parser.set_defaults(run=run)


def _seconds(text: str) -> float:
    try:
        ms = parse_duration_ms(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if ms <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive duration, got {text!r}")
    return ms / 1000


def run(args: argparse.Namespace) -> int:
    import asyncio

    from producers.kafka_async import require_topics
    from producers.record import RecordOptions, RecordReport
    from producers.sinks import JsonLinesSink, SinkError
    from streams.settings import load_settings
    from streams.topics import DIALER_TOPICS

    if args.since is not None and args.until is not None and args.until <= args.since:
        print("floorpulse record: --until must be later than --since", file=sys.stderr)
        return 2
    bootstrap = load_settings().kafka_bootstrap
    options = RecordOptions(
        start="beginning" if args.from_beginning else "end" if args.since is None else args.since,
        until_ms=args.until,
        until_idle_s=args.until_idle,
    )
    report = RecordReport()
    try:
        # The broker first: a file is only created (or emptied) once there is something to read.
        partitions = require_topics(bootstrap, DIALER_TOPICS, timeout_s=10.0)
        sink = JsonLinesSink(args.out)
    except SinkError as exc:
        print(f"floorpulse record: {exc}", file=sys.stderr)
        return 1
    status, note = asyncio.run(_record(bootstrap, partitions, sink, options, report))
    where = "stdout" if args.out == "-" else args.out
    print(_summary(report, where, note), file=sys.stderr)
    return status


async def _record(
    bootstrap: str,
    partitions: list[Partition],
    sink: Sink,
    options: RecordOptions,
    report: RecordReport,
) -> tuple[int, str | None]:
    """Exit status, and a note on how it ended when that was not as asked."""
    import asyncio

    from producers.interrupt import stop_on_signals
    from producers.kafka_async import KafkaReader, kafka_error
    from producers.progress import Progress
    from producers.record import record
    from producers.sinks import SinkError

    stop = asyncio.Event()
    stop_on_signals(stop)
    progress = Progress(sys.stderr, "recorded") if sys.stderr.isatty() else None
    status, note = 0, None
    try:
        reader = await KafkaReader.connect(bootstrap, partitions)
        try:
            await record(
                reader,
                partitions,
                sink,
                options,
                stopped=stop.is_set,
                progress=None if progress is None else progress.update,
                report=report,
            )
        finally:
            await reader.close()
    except BrokenPipeError:
        _silence_stdout()
        note = "the reader closed the output early"
    except (SinkError, OSError, kafka_error()) as exc:
        status, note = 1, f"FAILED: {exc}"
    finally:
        if progress is not None:
            progress.clear()
        try:
            sink.close()
        except BrokenPipeError:
            _silence_stdout()
        except (OSError, SinkError) as exc:
            status, note = 1, f"FAILED to finish the file: {exc}"
    return status, note


def _summary(report: RecordReport, where: str, note: str | None) -> str:
    from producers.when import iso

    counts = ", ".join(f"{topic} {n:,}" for topic, n in report.written.items())
    text = f"floorpulse record: {report.total:,} events to {where} ({counts})"
    if report.first_ts is not None and report.last_ts is not None:
        text += f", event time {iso(report.first_ts)} to {iso(report.last_ts)}"
    rate = report.total / report.elapsed_s if report.elapsed_s > 0 else 0.0
    text += f", {report.elapsed_s:.1f} s wall, {rate:,.0f} events/s"
    if report.stopped_by is not None:
        text += "; " + ENDINGS[report.stopped_by]
    notes = []
    if report.joined:
        notes.append(f"{report.joined:,} values held line breaks: written with spaces instead")
    if report.empty:
        notes.append(f"{report.empty:,} empty values (no events) left out")
    if note is not None:
        notes.append(note)
    return "\n".join([text, *(f"  {n}" for n in notes)])


def _silence_stdout() -> None:
    """After the reader of stdout has gone: keep Python's exit flush from failing on it again."""
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
