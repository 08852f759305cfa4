"""Translated events to a sink (Kafka, a file), keyed as the contract says, and counted: what
every dialer adapter sends through."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from producers.sinks import Sink
from streams.codec import encode
from streams.events import Event
from streams.topics import route

Progress = Callable[[int, int | None], None]
"""Told the events sent so far and the latest event time."""


@dataclass
class Sent:
    by_topic: Counter[str] = field(default_factory=Counter)
    first_ts: int | None = None
    last_ts: int | None = None

    @property
    def total(self) -> int:
        return sum(self.by_topic.values())


class Output:
    """Sends events to a sink, agent events keyed by agent_id and call events by campaign_id."""

    def __init__(self, sink: Sink, progress: Progress | None = None) -> None:
        self.sink = sink
        self.sent = Sent()
        self.progress = progress

    def send(self, events: Iterable[Event]) -> None:
        sent, send = self.sent, self.sink.send
        for event in events:
            topic, key = route(event)
            send(topic, key, encode(event))
            sent.by_topic[topic] += 1
            if sent.first_ts is None or event.ts < sent.first_ts:
                sent.first_ts = event.ts
            if sent.last_ts is None or event.ts > sent.last_ts:
                sent.last_ts = event.ts
        if self.progress is not None:
            self.progress(sent.total, sent.last_ts)

    def flush(self) -> None:
        self.sink.flush()
