"""The simulated floor the benchmarks read: one seeded floor, sized for the events wanted."""

from __future__ import annotations

import itertools
import random
from pathlib import Path


def write_floor(path: Path, events: int, tired_teams: frozenset[int] = frozenset()) -> None:
    """A simulated floor big enough for `events`, cut at exactly that many lines."""
    from producers.floor import HOUR, FloorConfig
    from producers.simulator import simulate
    from streams.codec import encode

    agents = max(20, events // 2500)
    config = FloorConfig(
        agents=agents,
        teams=max(2, agents // 20),
        campaigns=max(1, agents // 100),
        duration_ms=24 * HOUR,
        tired_teams=tired_teams,
    )
    with path.open("wb") as out:
        for event in itertools.islice(simulate(config, random.Random(7)), events):
            out.write(encode(event) + b"\n")
