"""`floorpulse demo`: the whole local floor, live, in one command."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo",
        help=(
            "run the whole local stack: broker, worker, simulator, Prometheus if installed,"
            " and the floor board"
        ),
        description=(
            "Start the local Kafka broker (unless one runs), one worker, the simulator at a"
            " watchable speed (one team skipping its breaks, so check-ins have something to"
            " notice) and, when the prometheus binary is installed, Prometheus with the"
            " project's config and rules on 127.0.0.1:9090, and the floor board (floorpulse"
            " board). Prints where to look. Ctrl-C stops everything it started and nothing"
            " else. Logs go to .floorpulse/logs/."
        ),
    )
    parser.add_argument(
        "--speed", default="10", help="simulated seconds per second: 1 is real time (10)"
    )
    parser.add_argument("--agents", type=int, default=40, metavar="N", help="people (40)")
    parser.add_argument(
        "--board-port", type=int, default=8080, metavar="N", help="the floor board's port (8080)"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the floor's configuration, for the worker (default $FLOORPULSE_CONFIG)",
    )
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from streams.config import load
    from streams.demo import run_demo
    from streams.localkafka import LocalKafkaError
    from streams.settings import load_settings

    if args.config is not None:
        load(args.config)  # a bad file fails here, in one line, before anything starts
        os.environ["FLOORPULSE_CONFIG"] = os.path.abspath(args.config)

    try:
        return run_demo(load_settings(), args.speed, args.agents, _say, args.board_port)
    except LocalKafkaError as exc:  # no Java, say, or a port taken: what to do, not a traceback
        print(f"floorpulse demo: {exc}", file=sys.stderr)
        return 1


def _say(line: str) -> None:
    try:
        print(line, flush=True)
    except BrokenPipeError:
        # Whoever read the output is gone (`make demo | tee`, interrupted): point standard output
        # at /dev/null, so that nothing more (Python's own flush at exit included) fails on it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise
