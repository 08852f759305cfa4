"""What `record` and `replay` share about a broker that goes away: --retry-for, and the lines
that say so on standard error (streams.outage_log)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Final

from producers.when import parse_duration_ms
from streams.errors import SettingsError

if TYPE_CHECKING:
    from streams.outage_log import Outage, OutageFilter

RETRY_VARIABLE: Final = "FLOORPULSE_KAFKA_RETRY_FOR"
DEFAULT_RETRY: Final = "5m"
MIN_RETRY_S: Final = 1.0
RETRY_HELP: Final = (
    "how long to wait for a broker that has gone away before giving up and saying where to "
    f"resume: 30s, 5m, 1h... (default {DEFAULT_RETRY}, or {RETRY_VARIABLE})"
)


def add_retry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--retry-for", type=_duration, metavar="DURATION", help=RETRY_HELP)


def retry_for_s(given: float | None, environ: Mapping[str, str] = os.environ) -> float:
    """--retry-for, else FLOORPULSE_KAFKA_RETRY_FOR, else the default; SettingsError naming the
    variable when it is set to something else than a duration."""
    if given is not None:
        return given
    text = environ.get(RETRY_VARIABLE, "").strip()
    try:
        return _duration(text or DEFAULT_RETRY)
    except argparse.ArgumentTypeError as exc:
        raise SettingsError(f"bad setting: {RETRY_VARIABLE}: {exc}") from None


def _duration(text: str) -> float:
    try:
        seconds = parse_duration_ms(text) / 1000
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if seconds < MIN_RETRY_S:
        raise argparse.ArgumentTypeError(f"expected at least {MIN_RETRY_S:.0f}s, got {text!r}")
    return seconds


def shown_duration(seconds: float) -> str:
    """A duration as --retry-for takes it: 90s, 5m, 1h30m."""
    whole = round(seconds)
    if whole % 60 or whole < 60:
        return f"{seconds:g}s"
    minutes = whole // 60
    if minutes % 60 or minutes < 60:
        return f"{minutes}m"
    return f"{minutes // 60}h"


def watch_outages(
    command: str,
    bootstrap: str,
    retry_for: float,
    clear: Callable[[], None] | None = None,
) -> tuple[Outage, OutageFilter]:
    """An Outage whose lines go to standard error as `floorpulse COMMAND: ...` (after `clear`,
    which rubs out a progress line), and the Kafka clients' connection errors held back into it.
    The caller tells it when the broker stops and starts answering; uninstall the filter after."""
    from streams.outage_log import Outage, duration, install

    def say(text: str) -> None:
        if clear is not None:
            clear()
        print(f"floorpulse {command}: {text}", file=sys.stderr, flush=True)

    def plan(down_for: float) -> str:
        left = max(0.0, retry_for - down_for)
        return f"; giving up in {duration(left)} (--retry-for {shown_duration(retry_for)})"

    outage = Outage(say, what=f"Kafka at {bootstrap}", plan=plan)
    return outage, install(outage, drive=False)
