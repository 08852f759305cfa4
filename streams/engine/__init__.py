"""The pure statistics engine (shared/contract/stats.md): no Kafka, no Faust, no clock."""

from streams.engine.checkins import Checkin
from streams.engine.floor import Floor, Outcome
from streams.engine.params import DEFAULT_PARAMS, Params
from streams.engine.report import EventCounts, build_report

__all__ = ["DEFAULT_PARAMS", "Checkin", "EventCounts", "Floor", "Outcome", "Params", "build_report"]
