"""Benchmark: `floorpulse analyze` against a plain `json.loads` loop over the same log.

Generates a large simulated log (or takes one), then times, in separate processes so that each
peak memory is its own: the analyzer (decode, validate, fold, report) and a standard-library
loop that only parses every line. Prints events per second, their ratio (analyze / parse: above
1.0 means analysing is faster than merely parsing with the standard library) and peak memory.

    python bench/analyze.py                   # one million simulated events
    python bench/analyze.py --events 200000
    python bench/analyze.py --log day.jsonl   # your own log
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from floors import write_floor

ANALYZE = """
import sys
from streams.analyze import analyze
from streams.logfile import open_log
with open_log(sys.argv[1]) as lines:
    report = analyze(lines)
print(report["events"]["lines"])
"""

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


def timed(script: str, log: Path) -> tuple[float, int, float]:
    """Wall seconds, lines reported, and peak resident memory (MiB) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, str(log)], capture_output=True, check=True, text=True
    )
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # ru_maxrss of children is the largest of any child so far: run the smaller one first.
    return seconds, int(done.stdout.strip()), max(peak_kib, before) / 1024


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
        parse = min(timed(PARSE, log) for _ in range(args.rounds))
        analyze = min(timed(ANALYZE, log) for _ in range(args.rounds))

    lines = analyze[1]
    parse_rate, analyze_rate = lines / parse[0], lines / analyze[0]
    print(f"log: {log.name}, {lines:,} lines, {size_mb:,.0f} MB")
    print(f"json.loads loop : {parse_rate:>10,.0f} events/s  peak {parse[2]:6.0f} MiB")
    print(f"floorpulse      : {analyze_rate:>10,.0f} events/s  peak {analyze[2]:6.0f} MiB")
    print(f"ratio (analyze / json.loads): {analyze_rate / parse_rate:.2f}")


if __name__ == "__main__":
    main()
