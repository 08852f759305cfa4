"""How long the floor board's floor page takes to load with 2,000 people on the floor.

    python bench/board.py [--people 2000] [--teams 100] [--campaigns 10] [--loads 20]

The board runs in this process against a stand-in Prometheus (tests/board/fake_prometheus.py)
that answers for the whole floor, so the figure is the board's own: its queries, their JSON,
and the page rendered and sent. Prints the median and slowest load of the page over HTTP. A
real Prometheus adds its query time (the board's fourteen queries run concurrently).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streams.board.app import Board, make_app
from tests.board.fake_prometheus import FakeFloor


async def main(people: int, teams: int, campaigns: int, loads: int) -> None:
    per_team, left = divmod(people, teams)
    floor = FakeFloor(
        team_sizes={f"team-{n:03d}": per_team + (n < left) for n in range(teams)},
        campaigns=[f"campaign-{n:02d}" for n in range(campaigns)],
    )
    prometheus = web.AppRunner(floor.app(), access_log=None)
    await prometheus.setup()
    prometheus_site = web.TCPSite(prometheus, "127.0.0.1", 0)
    await prometheus_site.start()
    prometheus_port = prometheus_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    board = web.AppRunner(
        make_app(Board(f"http://127.0.0.1:{prometheus_port}", {}, 5)), access_log=None
    )
    await board.setup()
    board_site = web.TCPSite(board, "127.0.0.1", 0)
    await board_site.start()
    board_port = board_site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    times = []
    size = 0
    try:
        async with aiohttp.ClientSession() as session:
            for _ in range(loads + 1):
                started = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{board_port}/") as response:
                    size = len(await response.read())
                times.append(time.perf_counter() - started)
    finally:
        await board.cleanup()
        await prometheus.cleanup()
    times = times[1:]  # the first load opens the connections
    print(
        f"floor page, {people:,} people in {teams} teams, {campaigns} campaigns:"
        f" median {statistics.median(times) * 1000:.0f} ms, slowest {max(times) * 1000:.0f} ms"
        f" over {loads} loads, {size / 1024:.0f} KiB"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=2000)
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--loads", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(main(args.people, args.teams, args.campaigns, args.loads))
