"""argparse types shared by subcommands: one parser each, errors in argparse's words."""

from __future__ import annotations

import argparse
from typing import Literal

from producers.when import parse_time, wall_ms


def speed(text: str) -> float | Literal["max"]:
    """A replay or simulation speed: a positive factor, or `max`."""
    from producers.pacing import parse_speed

    try:
        factor = parse_speed(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc} (1 is real time)") from None
    return "max" if factor is None else factor


def moment(text: str) -> int:
    """An event or record time (now, now-2h, epoch milliseconds, ISO), in epoch milliseconds."""
    try:
        return parse_time(text, now_ms=wall_ms())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
