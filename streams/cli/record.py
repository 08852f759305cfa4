"""`floorpulse record`: both dialer topics into a log, each event as it was, in each key's order."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Final

from producers.when import parse_duration_ms
from streams.cli import argtypes, outage

if TYPE_CHECKING:
    from collections.abc import Callable

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

A broker that goes away is waited for: within seconds a line says it is unreachable, then one a
minute while the outage lasts (that time is no idleness for --until-idle), and one when it
answers again; the recording goes on where it was. After --retry-for without an answer, it
ends with everything read so far in OUT, and says how to record the rest into another file
(--since the earliest record time that may not be in OUT, so a few events may be in both:
`floorpulse analyze` drops repeated events) and where each partition stopped (its next offset).

TIME is Kafka's record time, when a message was written (the event time of a live floor, not
of a replayed one): an ISO time such as 2026-01-05T08:00Z (UTC unless it has an offset), epoch
milliseconds, now, or relative to now (now-2h, now-1h30m, now+8h). --since starts each partition
at its first message written then or later; --until ends each at its first message written then
or later or, once the clock has passed it, at the end the partition has then.

Whenever it has caught up (nothing new to read), what it read is flushed to OUT, so that the file
(or a reader of standard output) has it at once. On a terminal it shows progress on standard
error; a summary follows at the end.

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
    outage.add_retry_option(parser)
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
    retry_for = outage.retry_for_s(args.retry_for)
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
    status, note = asyncio.run(
        _record(bootstrap, partitions, sink, options, report, retry_for, _resume_command(args))
    )
    where = "stdout" if args.out == "-" else args.out
    print(_summary(report, where, note), file=sys.stderr)
    return status


async def _record(
    bootstrap: str,
    partitions: list[Partition],
    sink: Sink,
    options: RecordOptions,
    report: RecordReport,
    retry_for: float,
    resume_command: Callable[[int | None], str],
) -> tuple[int, str | None]:
    """Exit status, and a note on how it ended when that was not as asked."""
    import asyncio

    from producers.interrupt import stop_on_signals
    from producers.kafka_async import KafkaReader, kafka_error
    from producers.progress import Progress
    from producers.record import GaveUp, record, resume_since
    from producers.sinks import SinkError
    from streams.outage_log import uninstall

    stop = asyncio.Event()
    stop_on_signals(stop)
    progress = Progress(sys.stderr, "recorded") if sys.stderr.isatty() else None
    clear = None if progress is None else progress.clear
    kafka, held_back = outage.watch_outages("record", bootstrap, retry_for, clear)
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
                retry_for_s=retry_for,
                outage=kafka,
            )
        finally:
            await reader.close()
    except BrokenPipeError:
        _silence_stdout()
        note = "the reader closed the output early"
    except GaveUp as exc:
        status = 1
        note = (
            f"FAILED: {exc}: gave up (--retry-for {outage.shown_duration(retry_for)}). "
            f"Record the rest with: {resume_command(resume_since(report, partitions))}"
            f" (next offsets: {_offsets(report, partitions)})"
        )
    except (SinkError, OSError, kafka_error()) as exc:
        status, note = 1, f"FAILED: {exc}"
    finally:
        uninstall(held_back)
        if progress is not None:
            progress.clear()
        try:
            sink.close()
        except BrokenPipeError:
            _silence_stdout()
        except (OSError, SinkError) as exc:
            status, note = 1, f"FAILED to finish the file: {exc}"
    return status, note


def _resume_command(args: argparse.Namespace) -> Callable[[int | None], str]:
    """The command that records, into another file, from a record time on (None: from the
    beginning), until the same end as this one."""
    import shlex
    from pathlib import PurePath

    out = args.out
    if out != "-":
        path = PurePath(out)
        stem, dot, suffixes = path.name.partition(".")
        out = str(path.with_name(f"{stem}-resumed{dot}{suffixes}"))
    parts = ["floorpulse", "record", shlex.quote(out)]
    ending = []
    if args.until is not None:
        ending += ["--until", _iso_ms(args.until)]
    if args.until_idle is not None:
        ending += ["--until-idle", f"{args.until_idle:g}"]
    if args.retry_for is not None:
        ending += ["--retry-for", outage.shown_duration(args.retry_for)]

    def command(since: int | None) -> str:
        start = ["--from-beginning"] if since is None else ["--since", _iso_ms(since)]
        return " ".join([*parts, *start, *ending])

    return command


def _iso_ms(ms: int) -> str:
    """Epoch milliseconds as ISO 8601 UTC to the millisecond (what --since reads back exactly)."""
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=ms % 1000 * 1000)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _offsets(report: RecordReport, partitions: list[Partition]) -> str:
    """Where each partition stopped: `topic p:offset ...`, for partitions read from."""
    by_topic: dict[str, list[str]] = {}
    for topic, number in partitions:
        at = report.positions.get((topic, number))
        if at is not None:
            by_topic.setdefault(topic, []).append(f"{number}:{at}")
    if not by_topic:
        return "nothing read"
    return "; ".join(f"{topic} {' '.join(places)}" for topic, places in by_topic.items())


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
