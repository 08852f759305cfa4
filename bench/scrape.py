"""Benchmark: what a Prometheus scrape of a worker costs, at the floor sizes /metrics allows.

Builds a worker's stores through the pipeline (no broker): campaigns with calls and queues,
people in teams, then renders /metrics from them as the worker does (decode what changed, one
snapshot, the exposition) and prints the time and size of a cold scrape and of a warm one (the
next scrape, where only what changed is decoded again). Beside them, the same floor with ten
times the campaigns over the 1,000 a worker names (folded into `other`), and that floor again
with no maximum: the cost the guard saves.

    python bench/scrape.py
    python bench/scrape.py --campaigns 1000 --teams 2000
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest

from streams.engine import DEFAULT_PARAMS
from streams.pipeline.batch import Pipeline, Record
from streams.pipeline.metrics import FloorCollector, Limits, Snapshot
from streams.pipeline.published import Published
from streams.topics import AGENT_EVENTS, CALL_EVENTS

NOW = 1_800_000_000_000
PARTITIONS = 6


def records(campaigns: int, teams: int) -> Iterator[Record]:
    offsets = dict.fromkeys(
        ((t, p) for t in (AGENT_EVENTS, CALL_EVENTS) for p in range(PARTITIONS)), 0
    )

    def record(topic: str, key: str, event: dict[str, object]) -> Record:
        partition = hash(key) % PARTITIONS
        offsets[topic, partition] += 1
        value = json.dumps({"v": 1, "source": "bench", "ts": NOW - 60_000, **event}).encode()
        return Record(topic, partition, offsets[topic, partition], key.encode(), value)

    n = 0
    for c in range(campaigns):
        campaign = f"campaign-{c:05d}"
        for k, kind in enumerate(("call.dialed", "call.queued")):
            for call in range(3):
                n += 1
                call_id = f"{campaign}-{kind}-{call}"
                yield record(
                    CALL_EVENTS,
                    campaign,
                    {
                        "type": kind,
                        "event_id": f"e{n}",
                        "call_id": call_id,
                        "campaign_id": campaign,
                    },
                )
                n += 1
                extra = {"answered_by": "human"} if k == 0 else {"agent_id": "x", "team_id": "y"}
                yield record(
                    CALL_EVENTS,
                    campaign,
                    {
                        "type": "call.answered" if k == 0 else "call.connected",
                        "event_id": f"e{n}",
                        "call_id": call_id,
                        "campaign_id": campaign,
                        **extra,
                    },
                )
    for t in range(teams):
        for person in range(2):
            n += 1
            agent = f"agent-{t:05d}-{person}"
            yield record(
                AGENT_EVENTS,
                agent,
                {
                    "type": "agent.state",
                    "event_id": f"e{n}",
                    "agent_id": agent,
                    "team_id": f"team-{t:05d}",
                    "campaign_id": f"campaign-{t % max(campaigns, 1):05d}",
                    "state": "ready",
                },
            )


def stores(
    campaigns: int, teams: int
) -> tuple[dict[str, bytes], dict[str, bytes], dict[str, bytes]]:
    agents: dict[str, bytes] = {}
    calls: dict[str, bytes] = {}
    partitions: dict[str, bytes] = {}
    pipeline = Pipeline(agents, calls, partitions, DEFAULT_PARAMS)
    pipeline.apply(list(records(campaigns, teams)), now_ms=NOW)
    writes = pipeline.flush()
    for store, changed in (
        (agents, writes.agents),
        (calls, writes.campaigns),
        (partitions, writes.partitions),
    ):
        store.update({key: data for key, (_partition, data) in changed.items()})
    return agents, calls, partitions


def scrape(campaigns: int, teams: int, limits: Limits) -> tuple[float, float, int]:
    """Seconds of a cold and a warm scrape, and the exposition's bytes."""
    data = stores(campaigns, teams)
    owned = {(t, p) for t in (AGENT_EVENTS, CALL_EVENTS) for p in range(PARTITIONS)}
    published = Published()
    registry = CollectorRegistry()
    holder: list[Snapshot] = []
    registry.register(FloorCollector(lambda: holder[-1], limits))
    times = []
    for _ in range(2):
        started = time.perf_counter()
        holder.append(published.snapshot(*data, owned))
        body = generate_latest(registry)
        times.append(time.perf_counter() - started)
    return times[0], times[1], len(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--teams", type=int, default=2000)
    args = parser.parse_args()
    rows = [
        (
            f"{args.campaigns:,} campaigns, {args.teams:,} teams",
            scrape(args.campaigns, args.teams, Limits()),
        ),
        (
            f"{10 * args.campaigns:,} campaigns, folded to 1,000",
            scrape(10 * args.campaigns, args.teams, Limits()),
        ),
        (
            f"{10 * args.campaigns:,} campaigns, no maximum",
            scrape(10 * args.campaigns, args.teams, Limits(10**9, 10**9, 10**9)),
        ),
    ]
    base_cold = rows[0][1][0]
    print(f"{'floor':<38} {'cold':>8} {'warm':>8} {'size':>9}  cold / first row")
    for name, (cold, warm, size) in rows:
        ratio = cold / base_cold
        print(
            f"{name:<38} {cold * 1e3:6.0f}ms {warm * 1e3:6.0f}ms {size / 1e6:7.2f}MB  {ratio:5.2f}"
        )


if __name__ == "__main__":
    main()
