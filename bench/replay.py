"""Benchmark: `replay` and `record` at max speed against the local broker, in events per second.

Simulates a log (or takes one), then, on two scratch topics of six partitions each (created for
the run and deleted after it, so that no one's topics or workers see the load):

- replay: the log read, routed and sent, until the broker has acknowledged every message;
- record: the same messages read back from the beginning and written as JSON Lines, plain and
  gzip-compressed (each from a fresh consumer).

The process is pinned to one CPU (where the platform allows), so the figures are one core's; the
broker runs beside it. Prints events per second of wall time and per CPU second of this process,
best of --rounds, against the goal of 50,000 events/s each.

    python bench/replay.py                      # 500,000 simulated events
    python bench/replay.py --events 200000
    python bench/replay.py --log day.jsonl.gz
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, cast

from floors import write_floor

from producers.kafka_async import KafkaReader, KafkaSender, require_topics
from producers.record import RecordOptions, record
from producers.replay import ReplayOptions, replay
from producers.sinks import JsonLinesSink
from streams.logfile import open_log
from streams.settings import load_settings
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from streams.topics_admin import admin_client

GOAL = 50_000


@contextmanager
def scratch_topics(bootstrap: str) -> Iterator[dict[str, str]]:
    """Two new topics standing in for the dialer topics, deleted afterwards."""
    tag = uuid.uuid4().hex[:8]
    topics = {AGENT_EVENTS: f"bench-{tag}.agent-events", CALL_EVENTS: f"bench-{tag}.call-events"}
    names = list(topics.values())
    with admin_client(bootstrap, timeout_s=10) as admin:
        spec = {"num_partitions": 6, "replication_factor": -1, "configs": {}}
        admin.create_topics({name: dict(spec) for name in names}, raise_errors=True)
        admin.wait_for_topics(names, timeout_ms=10_000)
    try:
        yield topics
    finally:
        with admin_client(bootstrap, timeout_s=10) as admin:
            cast(Any, admin).delete_topics(names)


def timed(job: Callable[[], Coroutine[None, None, int]]) -> tuple[float, float, int]:
    """Wall and CPU seconds of running a job in a fresh event loop, and the events it handled."""
    wall, cpu = time.perf_counter(), time.process_time()
    events = asyncio.run(job())
    return time.perf_counter() - wall, time.process_time() - cpu, events


async def replay_log(bootstrap: str, log: Path, topics: dict[str, str]) -> int:
    sender = await KafkaSender.connect(bootstrap, client_id="floorpulse-bench")
    try:
        with open_log(str(log)) as lines:
            report = await replay(lines, sender.send, ReplayOptions(speed=None, topics=topics))
    finally:
        await sender.close()
    if sender.refused:
        raise SystemExit(f"the broker refused {sender.refused} messages: {sender.first_refusal}")
    return report.total_sent


async def record_all(bootstrap: str, topics: dict[str, str], out: Path) -> int:
    partitions = require_topics(bootstrap, topics.values(), timeout_s=10)
    reader = await KafkaReader.connect(bootstrap, partitions, client_id="floorpulse-bench")
    sink = JsonLinesSink(out)
    try:
        options = RecordOptions(start="beginning", until_ms=time.time_ns() // 1_000_000)
        report = await record(reader, partitions, sink, options)
    finally:
        sink.close()
        await reader.close()
    return report.total


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=500_000, help="events to simulate")
    parser.add_argument("--log", type=Path, help="replay this log instead of simulating one")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args()
    # A new topic's first produce requests meet a leader still settling in and are retried;
    # aiokafka warns of each retry, which says nothing about these figures.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    bootstrap = load_settings().kafka_bootstrap

    results: dict[str, list[tuple[float, float]]] = {}
    counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "floor.jsonl"
            write_floor(log, args.events)
        for _ in range(args.rounds):
            with scratch_topics(bootstrap) as topics:
                jobs = {
                    "replay": partial(replay_log, bootstrap, log, topics),
                    "record .jsonl": partial(record_all, bootstrap, topics, Path(tmp) / "o.jsonl"),
                    "record .jsonl.gz": partial(
                        record_all, bootstrap, topics, Path(tmp) / "o.jsonl.gz"
                    ),
                }
                for name, job in jobs.items():
                    wall, cpu, counts[name] = timed(job)
                    results.setdefault(name, []).append((wall, cpu))

    print(f"log: {log.name}, {counts['replay']:,} events; broker {bootstrap}; one core")
    for name, runs in results.items():
        wall, cpu = min(runs)
        rate = counts[name] / wall
        verdict = "meets" if rate >= GOAL else "below"
        print(
            f"{name:<17}: {rate:>9,.0f} events/s wall, {counts[name] / cpu:>9,.0f} per CPU s "
            f"({verdict} the {GOAL:,}/s goal)"
        )
    if counts["record .jsonl"] != counts["replay"]:
        raise SystemExit(f"recorded {counts['record .jsonl']:,} of {counts['replay']:,} events")


if __name__ == "__main__":
    main()
