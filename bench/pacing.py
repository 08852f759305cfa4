"""Benchmark: the price of the breathing room. The same seeded floor paced twice, by predictive
dialers (the simulator's default: about two lines per person about to be free, adapted to keep
abandoned calls near 3%) and by dialers that follow the pacing advice (docs/pacing.md), side by
side per campaign: abandoned calls per call a person answered, occupancy (time on calls and
wrap-up per working time), the median and 10th percentile wait between calls (time ready before
the next call), calls taken per person-hour of work, and calls connected.

    python bench/pacing.py
    python bench/pacing.py --agents 20 --teams 2 --seed 3
    python bench/pacing.py --abandon-target 0.01 --occupancy-ceiling 0.8
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import defaultdict
from dataclasses import dataclass

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from streams.engine import EventCounts, Floor, build_report
from streams.engine.pacing import PacingLimits, state_ms
from streams.events import AgentState, AgentStateChanged

PACINGS = ("predictive", "advised")


@dataclass(frozen=True)
class Campaign:
    abandon: float | None
    occupancy: float
    wait_p50: float
    wait_p10: float
    calls_per_hour: float
    connected: int


def run(config: FloorConfig, seed: int) -> dict[str, Campaign]:
    """One day of the floor: each campaign's figures."""
    floor = Floor()
    waits: defaultdict[str, list[float]] = defaultdict(list)
    ready_since: dict[str, tuple[int, str]] = {}
    calls: defaultdict[str, int] = defaultdict(int)
    for event in simulate(config, random.Random(seed)):
        floor.apply(event)
        if isinstance(event, AgentStateChanged):
            if event.state is AgentState.ON_CALL:
                calls[event.campaign_id] += 1
                since = ready_since.get(event.agent_id)
                if since is not None:
                    waits[since[1]].append((event.ts - since[0]) / 1000)
            ready_since.pop(event.agent_id, None)
            if event.state is AgentState.READY:
                ready_since[event.agent_id] = (event.ts, event.campaign_id)
    floor.finalize()
    report = build_report(floor, EventCounts())
    people = state_ms(floor.agents.values())
    found = {}
    for name, campaign in report["campaigns"].items():
        ready, talking, wrapping, _paused = people.get(name, [0, 0, 0, 0])
        working = ready + talking + wrapping
        if not working or not waits[name]:
            continue
        spread = statistics.quantiles(waits[name], n=20)
        found[name] = Campaign(
            abandon=campaign["abandon_ratio"],
            occupancy=(talking + wrapping) / working,
            wait_p50=statistics.median(waits[name]),
            wait_p10=spread[1],
            calls_per_hour=calls[name] / (working / 3_600_000),
            connected=campaign["connected"],
        )
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--agents", type=int, default=40)
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--campaigns", type=int, default=2)
    parser.add_argument("--hours", type=float, default=8)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--outbound-only", action="store_true", help="no inbound queue")
    parser.add_argument("--abandon-target", type=float, default=PacingLimits().abandon_target)
    parser.add_argument("--occupancy-ceiling", type=float, default=PacingLimits().occupancy_ceiling)
    args = parser.parse_args()
    limits = PacingLimits(args.abandon_target, args.occupancy_ceiling)
    results = {
        pacing: run(
            FloorConfig(
                agents=args.agents,
                teams=args.teams,
                campaigns=args.campaigns,
                duration_ms=round(args.hours * HOUR),
                blended=frozenset() if args.outbound_only else None,
                pacing=pacing,
                pacing_limits=limits,
            ),
            args.seed,
        )
        for pacing in PACINGS
    }
    print(
        f"floor: {args.agents} people, {args.teams} teams, {args.campaigns} campaigns,"
        f" {args.hours:g} h, seed {args.seed}; advice limits: abandoned under"
        f" {limits.abandon_target:.0%}, occupancy at most {limits.occupancy_ceiling:.0%}"
    )
    header = (
        f"{'campaign':<12} {'pacing':<10} {'abandoned':>9} {'occupancy':>9} {'wait p50':>8}"
        f" {'wait p10':>8} {'calls/person-h':>14} {'connected':>9}"
    )
    print(header)
    print("-" * len(header))
    for name in sorted(results["predictive"]):
        for pacing in PACINGS:
            c = results[pacing].get(name)
            if c is None:
                continue
            abandon = "-" if c.abandon is None else f"{c.abandon:.1%}"
            change = ""
            if pacing == "advised" and name in results["predictive"]:
                before = results["predictive"][name].connected
                change = f" ({c.connected / before - 1:+.1%})"
            print(
                f"{name:<12} {pacing:<10} {abandon:>9} {c.occupancy:>9.1%} {c.wait_p50:>7.1f}s"
                f" {c.wait_p10:>7.1f}s {c.calls_per_hour:>14.1f} {c.connected:>9,}{change}"
            )


if __name__ == "__main__":
    main()
