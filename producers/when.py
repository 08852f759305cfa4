"""Time arguments of `record` and `replay`: ISO 8601, epoch milliseconds, `now`, or `now-2h`."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Final

FORMS: Final = (
    "an ISO time such as 2026-01-05T08:00:00Z (UTC unless it has an offset), epoch "
    "milliseconds, now, or a time relative to now such as now-2h, now-1h30m or now+8h"
)

_PART: Final = re.compile(r"(\d+(?:\.\d+)?)(ms|h|m|s)")
_UNIT_MS: Final = {"h": 3_600_000, "m": 60_000, "s": 1_000, "ms": 1}
_SECONDS_NOT_MS: Final = 100_000_000_000
"""Below this, digits are epoch seconds (before 1973 in milliseconds): a likely mistake."""


def parse_duration_ms(text: str) -> int:
    """Milliseconds from `8h`, `90m`, `1h30m`, `45s`, `500ms` or plain seconds (`2.5`)."""
    spec = text.strip().lower()
    total = -1.0
    if re.fullmatch(r"\d+(?:\.\d+)?", spec):
        total = float(spec) * 1000
    elif re.fullmatch(f"(?:{_PART.pattern})+", spec):
        total = sum(float(n) * _UNIT_MS[unit] for n, unit in _PART.findall(spec))
    if total < 0:
        raise ValueError(f"expected a duration such as 30s, 5m, 1h30m or 2.5, got {text!r}")
    return round(total)


def parse_time(text: str, *, now_ms: int) -> int:
    """Epoch milliseconds (UTC) from any of FORMS; ValueError naming them otherwise."""
    spec = text.strip()
    if spec.lower() == "now":
        return now_ms
    # `now-2h` as in Grafana; a bare `-2h` as well, though argparse takes it for an option
    # unless it is written `--since=-2h`.
    relative = re.fullmatch(f"(?:now)?([+-])((?:{_PART.pattern})+)", spec.lower())
    if relative:
        offset = parse_duration_ms(relative[2])
        return now_ms + offset if relative[1] == "+" else now_ms - offset
    if spec.isdigit():
        value = int(spec)
        if value < _SECONDS_NOT_MS:
            raise ValueError(
                f"{spec} looks like seconds since the epoch: give milliseconds ({value * 1000})"
            )
        return value
    try:
        moment = datetime.fromisoformat(spec)
    except ValueError:
        raise ValueError(f"expected {FORMS}; got {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return round(moment.timestamp() * 1000)


def iso(ms: int) -> str:
    """An epoch-milliseconds time as ISO 8601 UTC to the second, e.g. 2026-01-05T08:00:00Z."""
    try:
        moment = datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, ValueError, OSError):
        return f"{ms} ms"  # beyond datetime's years: an invalid event's time, shown as it is
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def wall_ms() -> int:
    """The wall clock in epoch milliseconds."""
    return time.time_ns() // 1_000_000
