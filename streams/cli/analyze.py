"""`floorpulse analyze`: the offline report of a recorded log."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from streams.analyze import Reading

DEFAULT_JOBS_LIMIT: Final = 8
"""The default takes every core available up to this many: more processes would mostly wait for
the one that reads and routes every line."""
MAX_JOBS: Final = 64


def default_jobs() -> int:
    """The cores this process may run on, up to DEFAULT_JOBS_LIMIT."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return min(cores, DEFAULT_JOBS_LIMIT)


def jobs(text: str) -> int:
    """--jobs: a whole number of processes, 1 to MAX_JOBS."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_JOBS:
        raise argparse.ArgumentTypeError(
            f"expected a whole number from 1 to {MAX_JOBS}, got {text!r}"
        )
    return value


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="compute the statistics of a recorded event log (no broker needed)",
        description=(
            "Read an event log (JSON Lines, gzip when compressed, or - for standard input) as a"
            " stream, apply every statistic of the contract with the floor's configuration (its"
            " defaults without one), and"
            " print the report. Invalid lines are counted, never fatal. Warnings go to standard"
            " error: a log that ends early (a truncated .gz: the report covers what was read,"
            " exit status 1), one with no applicable event, events stamped more than a day after"
            " all the others. The exit status is 1 when the log cannot be read, or not to its end,"
            " or when a folding process (--jobs) ends before it."
        ),
    )
    parser.add_argument("log", metavar="LOG", help="log file (.jsonl or .jsonl.gz), or - for stdin")
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration (codes, thresholds, privacy); default $FLOORPULSE_CONFIG,"
        " else the contract's defaults",
    )
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="json: the report of report.md (default); text: tables for a person",
    )
    cores = default_jobs()
    parser.add_argument(
        "--jobs",
        type=jobs,
        default=cores,
        metavar="N",
        help="processes that fold the log, each owning some agents and campaigns (the report is"
        " the same for any N); 1 folds it in this process. Default: the cores available, up to"
        f" {DEFAULT_JOBS_LIMIT} (here {cores})",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import gzip
    import json
    import zlib

    from streams.analyze import Reading, analyze_with_pacing
    from streams.analyze_jobs import JobFailed
    from streams.config import load
    from streams.logfile import open_log
    from streams.report_text import render_text

    config = load(args.config).config
    reading = Reading()
    try:
        with open_log(args.log) as log:
            # The pacing advice is no report field: the text report shows it beside the tables.
            report, pacing = analyze_with_pacing(
                log,
                config.params(),
                reading=reading,
                limits=config.pacing.limits(),
                jobs=args.jobs,
            )
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"floorpulse analyze: cannot read {args.log}: {reason}", file=sys.stderr)
        return 1
    except JobFailed as exc:
        print(f"floorpulse analyze: {exc}", file=sys.stderr)
        return 1
    if reading.stopped and not reading.lines:
        print(f"floorpulse analyze: cannot read {args.log}: {reading.stopped}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(
            render_text(
                report,
                config.privacy.min_group_size,
                pacing=pacing,
                limits=config.pacing.limits(),
            )
        )
    for warning in warnings(report, reading):
        print(f"floorpulse analyze: {warning}", file=sys.stderr)
    return 1 if reading.stopped else 0


def warnings(report: dict[str, Any], reading: Reading) -> list[str]:
    """One line for each thing a person should know about how the log was read."""
    found = []
    if reading.stopped:
        found.append(
            f"the log ends early, after line {reading.lines:,} ({reading.stopped}): the report"
            " covers the lines before it"
        )
    events = report["events"]
    if events["valid"] == 0:
        if reading.lines == 0:
            why = "the log is empty"
        elif events["lines"] == 0:
            why = "it has only blank lines"
        else:
            lines = f"{events['lines']:,} line{'s' if events['lines'] > 1 else ''}"
            why = f"none of its {lines} is a contract event (see floorpulse schema)"
        found.append(f"no event could be applied: {why}")
    far = reading.far_ahead()
    if far:
        shown = ", ".join(f"{line:,}" for line, _ts in far[:10]) + (" ..." if len(far) > 10 else "")
        when = _utc(max(ts for _line, ts in far))
        found.append(
            f"line{'s' if len(far) > 1 else ''} {shown} {'are' if len(far) > 1 else 'is'} stamped"
            f" more than a day after every other event (up to {when}): they set the window end,"
            " so intervals still open are counted up to them; check the dialer's clock"
        )
    return found


def _utc(ts: int) -> str:
    import datetime as dt

    try:
        return dt.datetime.fromtimestamp(ts / 1000, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    except (OverflowError, ValueError, OSError):
        return f"ts {ts}"
