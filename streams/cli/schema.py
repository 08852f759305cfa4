"""`floorpulse schema`: print or write the JSON Schema of the event contract."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "schema",
        help="print the JSON Schema of the dialer event contract",
        description=(
            "Print the JSON Schema (draft 2020-12) of one dialer event, contract v1, for "
            "dialer integrators to validate against. The committed copy is "
            "docs/events.schema.json."
        ),
    )
    parser.add_argument(
        "--out", type=Path, metavar="FILE", help="write the schema to FILE instead of stdout"
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from streams.schema import render

    text = render()
    out: Path | None = args.out
    if out is None:
        sys.stdout.write(text)
        return 0
    try:
        # Always "\n", so the committed file is the same whichever system regenerates it.
        out.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        print(f"floorpulse schema: cannot write {out}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
