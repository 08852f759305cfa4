"""The floor of the worker's throughput: Faust delivering the same messages to agents that do
nothing with them. Run by bench/pipeline.py as a process of its own:

    python bench/faust_alone.py BOOTSTRAP EXPECTED

Consumes both dialer topics from the start in a consumer group of its own, in the worker's
batches (`take_events`, same size and wait), until EXPECTED messages have arrived, then prints
one JSON line: the messages counted after the first batch and the seconds they took. It runs on
until stopped (SIGTERM).
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
import uuid
from typing import Any

import faust

from streams.pipeline.worker import BATCH_MAX, BATCH_WITHIN_S
from streams.topics import AGENT_EVENTS, CALL_EVENTS


class Counted:
    def __init__(self) -> None:
        self.total = self.first_batch = 0
        self.first_at = 0.0

    def add(self, batch: int, expected: int) -> None:
        if not self.total:
            self.first_at, self.first_batch = time.perf_counter(), batch
        before, self.total = self.total, self.total + batch
        if before < expected <= self.total:
            seconds = time.perf_counter() - self.first_at
            print(json.dumps({"events": self.total - self.first_batch, "seconds": seconds}))
            sys.stdout.flush()


def main() -> None:
    bootstrap, expected = sys.argv[1], int(sys.argv[2])
    app = faust.App(
        f"floorpulse-bench-faust-{uuid.uuid4().hex[:8]}",
        broker=f"kafka://{bootstrap}",
        datadir=tempfile.mkdtemp(prefix="floorpulse-bench-faust-"),
        web_enabled=False,
        consumer_auto_offset_reset="earliest",
        topic_replication_factor=1,
    )
    counted = Counted()

    async def count(stream: Any) -> None:
        async for events in stream.take_events(BATCH_MAX, within=BATCH_WITHIN_S):
            counted.add(len(events), expected)

    for topic in (AGENT_EVENTS, CALL_EVENTS):
        channel = app.topic(
            topic, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw"
        )
        app.agent(channel, name=f"count-{topic}")(count)
    worker = faust.Worker(app, loglevel="warn", quiet=True, redirect_stdouts=False)
    worker.spinner = None
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
