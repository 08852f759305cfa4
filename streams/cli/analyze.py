"""`floorpulse analyze`: the offline report of a recorded log."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "analyze",
        help="compute the statistics of a recorded event log (no broker needed)",
        description=(
            "Read an event log (JSON Lines, gzip when compressed, or - for standard input) as a"
            " stream, apply every statistic of the contract with its default parameters, and"
            " print the report. Invalid lines are counted, never fatal; the exit status is"
            " non-zero only when the log cannot be read."
        ),
    )
    parser.add_argument("log", metavar="LOG", help="log file (.jsonl or .jsonl.gz), or - for stdin")
    parser.add_argument(
        "--format",
        choices=("json", "text"),
        default="json",
        help="json: the report of report.md (default); text: tables for a person",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import gzip
    import json
    import zlib

    from streams.analyze import analyze
    from streams.logfile import open_log
    from streams.report_text import render_text

    try:
        with open_log(args.log) as lines:
            report = analyze(lines)
    except (OSError, EOFError, gzip.BadGzipFile, zlib.error) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"floorpulse analyze: cannot read {args.log}: {reason}", file=sys.stderr)
        return 1
    if args.format == "json":
        json.dump(report, sys.stdout, indent=1, sort_keys=True)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(render_text(report))
    return 0
