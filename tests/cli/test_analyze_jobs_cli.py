"""`floorpulse analyze --jobs N` prints, to the byte, what `--jobs 1` prints: report, warnings and
exit status, for every example floor and for a long log with invalid lines and duplicates."""

from __future__ import annotations

import gzip
import itertools
import random
import subprocess
from pathlib import Path

import msgspec
import pytest

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from streams.codec import encode
from tests.cli.test_analyze_cli import floorpulse
from tests.scenarios import scenario_logs


def same_for_any_jobs(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """What `analyze` prints with one process, checked to be what two and three print."""
    one = floorpulse("analyze", *args, "--jobs", "1", stdin=stdin)
    for jobs in ("2", "3"):
        many = floorpulse("analyze", *args, "--jobs", jobs, stdin=stdin)
        assert (many.returncode, many.stderr) == (one.returncode, one.stderr), jobs
        assert many.stdout == one.stdout, jobs
    return one


@pytest.mark.parametrize("form", ["json", "text"])
@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_each_scenario_gives_the_same_bytes_with_any_jobs(log: Path, form: str) -> None:
    done = same_for_any_jobs(str(log), "--format", form)
    assert done.returncode == 0, done.stderr


@pytest.fixture(scope="module")
def noisy_log(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """A simulated floor of several chunks, with invalid and blank lines, duplicates of the same
    agent or campaign and of another one, and a line stamped in the year 9999."""
    config = FloorConfig(agents=60, teams=3, campaigns=3, duration_ms=2 * HOUR)
    events = list(itertools.islice(simulate(config, random.Random(18)), 12_000))
    lines = [encode(event) for event in events]
    rnd = random.Random(3)
    for _ in range(300):
        at = rnd.randrange(len(lines))
        event = events[rnd.randrange(at + 1)]
        kind = rnd.choice(["again", "stolen", "invalid", "blank"])
        if kind == "again":
            line = encode(event)
        elif kind == "stolen":  # another agent's or campaign's event with this one's id
            line = encode(msgspec.structs.replace(rnd.choice(events), event_id=event.event_id))
        elif kind == "invalid":
            line = encode(event).replace(b'"v":1', b'"v":2')
        else:
            line = b"  "
        lines.insert(at, line)
    far = msgspec.structs.replace(events[5], event_id="far", ts=253_402_300_799_000)
    lines.insert(len(lines) // 2, encode(far))
    return b"\n".join(lines) + b"\n"


def test_a_long_log_with_invalid_lines_and_duplicates(noisy_log: bytes, tmp_path: Path) -> None:
    log = tmp_path / "noisy.jsonl"
    log.write_bytes(noisy_log)
    done = same_for_any_jobs(str(log))
    assert done.returncode == 0, done.stderr
    assert b'"duplicate": 0' not in done.stdout
    assert b'"invalid": 0' not in done.stdout
    assert b"stamped more than a day after every other event" in done.stderr


def test_a_compressed_log_on_standard_input(noisy_log: bytes) -> None:
    done = same_for_any_jobs("-", stdin=gzip.compress(noisy_log))
    assert done.returncode == 0, done.stderr


def test_a_truncated_gzip_stops_at_the_same_line(noisy_log: bytes, tmp_path: Path) -> None:
    whole = gzip.compress(noisy_log)
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(whole[: len(whole) * 2 // 3])
    done = same_for_any_jobs(str(broken))
    assert done.returncode == 1
    assert b"the log ends early, after line " in done.stderr


@pytest.mark.parametrize("jobs", ["0", "-1", "65", "two"])
def test_a_bad_number_of_jobs_is_refused_at_start(jobs: str) -> None:
    done = floorpulse("analyze", "-", "--jobs", jobs, stdin=b"")
    assert done.returncode == 2
    assert f"argument --jobs: expected a whole number from 1 to 64, got '{jobs}'" in (
        done.stderr.decode()
    )
