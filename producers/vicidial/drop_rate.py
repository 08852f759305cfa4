"""The drop percentage VICIdial shows (`drops_answers_today_pct`), from contract events.

VICIdial divides a day's drops by the day's calls whose status it flags as answered by a
person, drops among them, times 100 (bin/AST_VDadapt.pl). From events: `call.dropped` over
`call.answered` by a human, by campaign and the day of each event. The 3% rule of stats.md
counts late connects too, so its figure is the larger; floors used to VICIdial's see both.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import UTC, datetime

from streams.events import AnsweredBy, CallAnswered, CallDropped, Event


class DropRate:
    """Counts as events go by; a repeated event id counts once, as in the engine."""

    def __init__(self) -> None:
        self.dropped: Counter[tuple[str, str]] = Counter()
        self.answered: Counter[tuple[str, str]] = Counter()
        self._seen: set[str] = set()

    def add(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, CallDropped):
                counter = self.dropped
            elif isinstance(event, CallAnswered) and event.answered_by is AnsweredBy.HUMAN:
                counter = self.answered
            else:
                continue
            if event.event_id in self._seen:
                continue
            self._seen.add(event.event_id)
            day = datetime.fromtimestamp(event.ts / 1000, UTC).date().isoformat()
            counter[event.campaign_id, day] += 1

    def percent(self) -> dict[tuple[str, str], float]:
        """By (campaign, UTC day) with a human answer: drops per 100 human answers."""
        return {key: 100 * self.dropped[key] / answered for key, answered in self.answered.items()}
