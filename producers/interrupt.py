"""Ctrl-C as a request: the first SIGINT or SIGTERM asks a run to stop cleanly, a second one
interrupts at once (Python's usual KeyboardInterrupt, or termination)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Final

SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


def stop_on_signals(stop: asyncio.Event) -> None:
    """Set `stop` at the first SIGINT or SIGTERM; from then on both act as if never caught.
    Call it from the running loop's thread (the main thread)."""
    loop = asyncio.get_running_loop()

    def requested() -> None:
        stop.set()
        for number in SIGNALS:
            loop.remove_signal_handler(number)

    for number in SIGNALS:
        loop.add_signal_handler(number, requested)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep for `seconds`, or less if `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
