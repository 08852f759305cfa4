"""`floorpulse config check FILE`: the effective configuration, or every problem in it."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "config",
        help="check a floor's configuration file (codes, thresholds, pacing, privacy, sources)",
        description=(
            "A floor's configuration is one TOML file, read by analyze, the worker and the"
            " dialer adapters (--config FILE, or FLOORPULSE_CONFIG): [codes] (more dispositions,"
            " pause reasons and outcomes, and aliases for a site's own codes), [thresholds]"
            " (every parameter of the statistics, with the contract's defaults), [pacing] (the"
            " limits the pacing advice keeps), [privacy]"
            " (min_group_size) and [sources.<dialer>] (how queues, campaigns and people map to"
            " floorpulse's campaigns and teams). deploy/floorpulse.example.toml explains each."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser(
        "check",
        help="print the effective configuration, or every problem in the file",
        description=(
            "Print the effective configuration (every value, defaults included, and the"
            " fingerprint of the rules that change numbers); or, when the file has problems,"
            " one line for each, naming its key and line, and exit 2."
        ),
    )
    check.add_argument("file", metavar="FILE", help="the configuration file (TOML)")
    check.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from streams.config import ConfigError, describe, load

    try:
        loaded = load(args.file)
    except ConfigError as exc:
        print(
            f"floorpulse config: {args.file} has {len(exc.problems)} problem(s):", file=sys.stderr
        )
        for problem in exc.problems:
            print(f"  {problem}", file=sys.stderr)
        return 2
    sys.stdout.write(describe(loaded))
    return 0
