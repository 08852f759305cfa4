"""Benchmark: `floorpulse analyze --jobs 1` and `--jobs 2` against a standard-library parse
(`json.loads` of every line) of the same log.

Generates a large simulated log (or takes one), then times each in its own process, rounds
interleaved so that a busy moment of the machine falls on all of them alike: the parse, and
`floorpulse analyze LOG --jobs N` (read, route, decode, validate, fold, merge, report). Prints
events per second and their ratio to the parse (above 1.0: analysing is faster than merely
parsing with the standard library), the processor time all processes spent (what two cores
must share), and the largest peak memory of any one process.

    python bench/analyze.py                   # one million simulated events
    python bench/analyze.py --events 200000
    python bench/analyze.py --log day.jsonl   # your own log
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from floors import write_floor

PARSE = """
import json, sys
n = 0
with open(sys.argv[1], "rb") as lines:
    for line in lines:
        try:
            json.loads(line)
        except ValueError:
            pass
        n += 1
print(n)
"""


@dataclass(frozen=True)
class Run:
    seconds: float
    lines: int
    cpu_seconds: float
    """User and system time of the process and of every process it started."""
    peak_mib: float
    """The largest peak resident memory of any one of them."""


# Runs one command and reports on it alone: the resource use of a process's children covers every
# child it waited for (and theirs), so each run needs a process of its own around it.
MEASURE = """
import json, resource, subprocess, sys, time
started = time.perf_counter()
done = subprocess.run(sys.argv[1:], capture_output=True, check=True, text=True)
seconds = time.perf_counter() - started
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([seconds, done.stdout, use.ru_utime + use.ru_stime, use.ru_maxrss / 1024]))
"""


def timed(command: list[str], count_lines: bool) -> Run:
    """One command: wall seconds, lines, processor time of all its processes, largest peak."""
    measured = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, check=True, text=True
    )
    seconds, stdout, cpu, peak = json.loads(measured.stdout)
    lines = int(stdout) if count_lines else json.loads(stdout)["events"]["lines"]
    return Run(seconds, lines, cpu, peak)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000, help="events to simulate")
    parser.add_argument("--log", type=Path, help="analyse this log instead of simulating one")
    parser.add_argument("--rounds", type=int, default=3, help="best of this many runs each")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        log = args.log
        if log is None:
            log = Path(tmp) / "floor.jsonl"
            started = time.perf_counter()
            write_floor(log, args.events, tired_teams=frozenset({1}))
            print(f"simulated {args.events:,} events in {time.perf_counter() - started:.1f} s")
        size_mb = log.stat().st_size / 1e6
        analyze = [sys.executable, "-m", "streams.cli", "analyze", str(log), "--jobs"]
        commands = {
            "json.loads loop": ([sys.executable, "-c", PARSE, str(log)], True),
            "analyze --jobs 1": ([*analyze, "1"], False),
            "analyze --jobs 2": ([*analyze, "2"], False),
        }
        runs: dict[str, list[Run]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, (command, count_lines) in commands.items():
                runs[name].append(timed(command, count_lines))

    best = {name: min(found, key=lambda run: run.seconds) for name, found in runs.items()}
    lines = best["json.loads loop"].lines
    assert all(run.lines == lines for run in best.values()), "the runs read different lines"
    cores = len(os.sched_getaffinity(0))
    print(f"log: {log.name}, {lines:,} lines, {size_mb:,.0f} MB; {cores} cores")
    print(f"{'':18}{'events/s':>10}{'ratio':>8}{'cpu s':>8}{'peak MiB':>10}")
    baseline = lines / best["json.loads loop"].seconds
    for name, run in best.items():
        rate = lines / run.seconds
        print(
            f"{name:18}{rate:>10,.0f}{rate / baseline:>8.2f}{run.cpu_seconds:>8.1f}"
            f"{run.peak_mib:>10.0f}"
        )


if __name__ == "__main__":
    main()
