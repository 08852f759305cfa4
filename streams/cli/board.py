"""`floorpulse board`: the floor's wallboard and each team lead's check-ins, on the web."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "board",
        help="serve the floor board and the team leads' check-in pages",
        description=(
            "Serve the floor's wallboard (numbers from Prometheus) and, for a team lead signed"
            " in with the team's token, that team's open check-ins (from floor.checkins). Team"
            ' tokens come from FLOORPULSE_BOARD_TOKENS="team-a=secret1,team-b=secret2";'
            " without them, the floor page only."
        ),
    )
    parser.add_argument("--port", type=int, default=8080, metavar="N", help="port (8080)")
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to bind (127.0.0.1: this machine only)"
    )
    parser.add_argument(
        "--prometheus",
        default="http://127.0.0.1:9090",
        metavar="URL",
        help="Prometheus' address (http://127.0.0.1:9090)",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration, for privacy.min_group_size (default $FLOORPULSE_CONFIG)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from streams.board import tokens
    from streams.board.run import serve
    from streams.config import load
    from streams.kafka_config import KafkaSecurity
    from streams.outage_log import install as install_outage_log
    from streams.settings import load_settings

    settings = load_settings()
    config = load(args.config).config
    team_tokens = tokens.from_environment()
    # aiokafka logs every failed connection: an outage is one line at its start, one a minute,
    # one at its end.
    install_outage_log()
    try:
        asyncio.run(
            serve(
                host=args.host,
                port=args.port,
                prometheus_url=args.prometheus,
                tokens=team_tokens,
                min_group_size=config.privacy.min_group_size,
                bootstrap=settings.kafka_bootstrap,
                security=KafkaSecurity.from_settings(settings),
                say=lambda line: print(line, flush=True),
            )
        )
    except OSError as exc:  # the port is taken, or the address is not this machine's
        print(
            f"floorpulse board: cannot serve on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 1
    return 0
