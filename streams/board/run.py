"""Runs the board: the application on its port and the check-in reader beside it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Final

from aiohttp import web

from streams.board.app import Board, make_app
from streams.board.reader import read
from streams.kafka_config import KafkaSecurity

RETRY_S: Final = 5.0


async def serve(
    *,
    host: str,
    port: int,
    prometheus_url: str,
    tokens: Mapping[str, str],
    min_group_size: int,
    bootstrap: str,
    security: KafkaSecurity,
    say: Callable[[str], None],
) -> None:
    """Serve until cancelled."""

    async def checkins(board: Board) -> None:
        """Read floor.checkins for the board's whole life; a broker away is retried, said once."""
        said = False
        while True:
            ready = asyncio.Event()
            reading = asyncio.create_task(read(bootstrap, security, board.book, ready=ready))
            reading.add_done_callback(_retrieve)
            waiting = asyncio.create_task(ready.wait())
            try:
                await asyncio.wait({reading, waiting}, return_when=asyncio.FIRST_COMPLETED)
                board.checkins_ready = ready.is_set()
                await reading
            except Exception as exc:  # the floor page lives on; repeats are dropped by id
                board.checkins_ready = False
                if not said:
                    say(f"floorpulse board: check-ins unavailable, retrying: {exc}")
                    said = True
            finally:
                waiting.cancel()
                reading.cancel()
            await asyncio.sleep(RETRY_S)

    board = Board(prometheus_url, tokens, min_group_size)
    runner = web.AppRunner(make_app(board, checkins), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        say(f"floorpulse board: http://{host}:{port}/ (Prometheus {prometheus_url})")
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def _retrieve(task: asyncio.Task[None]) -> None:
    """Mark a reader's failure as seen, also when the board stops before it awaits it."""
    if not task.cancelled():
        task.exception()
