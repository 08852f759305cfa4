"""`floorpulse checkins`: the check-ins of floor.checkins in a terminal, or as JSON Lines."""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "checkins",
        help="print the check-ins open now (and, with --follow, each one as it opens or closes)",
        description=(
            "Read floor.checkins from the start of its retention and print the check-ins open"
            " now, oldest first; with --follow, then each opening and closing as it comes."
        ),
    )
    parser.add_argument("--team", metavar="T", help="only this team's check-ins")
    parser.add_argument("--follow", action="store_true", help="keep printing new ones")
    parser.add_argument("--json", action="store_true", help="one JSON object a line")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import asyncio

    from streams.board.checkins import Book, Checkin
    from streams.board.reader import read
    from streams.kafka_config import KafkaSecurity
    from streams.outage_log import install as install_outage_log
    from streams.settings import load_settings

    settings = load_settings()
    # aiokafka logs every failed connection: an outage is one line at its start, one a minute,
    # one at its end.
    install_outage_log()
    security = KafkaSecurity.from_settings(settings)
    book = Book()
    following = False

    def show(checkin: Checkin) -> None:
        if args.team is not None and checkin.team_id != args.team:
            return
        if args.json:
            print(json.dumps(checkin.__dict__), flush=True)
            return
        now_ms = time.time_ns() // 1_000_000
        state = "open" if checkin.closed_ts is None else "closed"
        minutes = (now_ms - checkin.opened_ts) // 60_000
        print(
            f"{checkin.team_id}  {checkin.agent_id}  {checkin.kind}  {state}, opened"
            f" {minutes} min ago  {checkin.message}",
            flush=True,
        )

    async def main() -> None:
        nonlocal following
        ready = asyncio.Event()
        await read(settings.kafka_bootstrap, security, book, follow=False, ready=ready)
        for checkin in book.open(args.team):
            show(checkin)
        if args.follow:
            following = True
            await read(
                settings.kafka_bootstrap,
                security,
                Book(seen_ids=set(book.seen_ids)),
                on_checkin=lambda c: show(c) if following else None,
                ready=None,
            )

    from aiokafka.errors import KafkaError

    try:
        asyncio.run(main())
    except (RuntimeError, OSError, KafkaError) as exc:
        print(f"floorpulse checkins: {exc}", file=sys.stderr)
        return 1
    return 0
