"""The engine's parameters (stats.md), with the contract's defaults."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from streams.codes import DEFAULT_CODES, Codes


@dataclass(frozen=True)
class Params:
    """Every threshold the statistics use. Times are in seconds here, milliseconds inside."""

    recovery_s: float = 300
    stretch_s: float = 5400
    occupancy_window_s: float = 3600
    occupancy_threshold: float = 0.90
    streak_n: int = 8
    session_gap_s: float = 1800
    shift_s: float = 32400
    abandon_after_ms: int = 2000
    # Inbound queues (revision 1.1): answered within this wait counts toward the service level;
    # abandoned sooner is a short abandon, left out of the queue's ratios.
    service_level_ms: int = 20000
    short_abandon_ms: int = 5000
    # How long a finished call (ended, unanswered or dropped) is remembered after its last event,
    # by its campaign's event time: the ten minutes events.md asks for late duplicates, so that
    # memory (and a live worker's campaign state) follows open calls.
    call_retention_s: float = 600
    # An open call that has been quiet this long is taken to be lost by its dialer (no call lasts
    # twelve hours); forgetting it keeps memory bounded when outcomes go missing.
    open_call_retention_s: float = 43200
    # Day buckets kept per campaign; None keeps all (the offline report lists every day).
    keep_days: int | None = None
    codes: Codes = DEFAULT_CODES

    def __post_init__(self) -> None:
        for name in (
            "recovery_s",
            "stretch_s",
            "occupancy_window_s",
            "session_gap_s",
            "shift_s",
            "call_retention_s",
        ):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if not 0 < self.occupancy_threshold < 1:
            raise ValueError("occupancy_threshold must be between 0 and 1")
        if self.streak_n < 1 or self.abandon_after_ms < 0:
            raise ValueError("streak_n must be at least 1 and abandon_after_ms not negative")
        if self.service_level_ms <= 0 or self.short_abandon_ms < 0:
            raise ValueError("service_level_ms must be positive and short_abandon_ms not negative")

    @property
    def busy_per_ready(self) -> Fraction:
        """Occupancy b / (b + r) >= θ exactly when b >= r · θ / (1 - θ); θ read as written."""
        theta = Fraction(str(self.occupancy_threshold))
        return theta / (1 - theta)


def ms(seconds: float) -> int:
    """Seconds as whole milliseconds."""
    return round(seconds * 1000)


DEFAULT_PARAMS = Params()
