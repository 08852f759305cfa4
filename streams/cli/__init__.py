"""The `floorpulse` console script: one entry point, one module per subcommand.

Each subcommand module has `register(subparsers)`, which adds its parser and sets `run`, a
function from the parsed arguments to an exit status. Heavy imports happen inside `run`, so
`--help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from streams.errors import SettingsError

SUBCOMMANDS = (
    "kafka",
    "simulate",
    "record",
    "replay",
    "analyze",
    "schema",
    "worker",
    "demo",
    "dashboards",
    "config",
    "connect",
    "board",
    "checkins",
)

DESCRIPTION = """\
Telemetry and humane floor monitoring for call centres that run dialers.

Broker address: FLOORPULSE_KAFKA_BOOTSTRAP (default 127.0.0.1:9092).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="floorpulse",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"streams.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.run(args)
    except SettingsError as exc:
        print(f"floorpulse: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


if __name__ == "__main__":
    sys.exit(main())
