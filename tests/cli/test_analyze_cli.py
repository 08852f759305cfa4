"""`floorpulse analyze` as a user runs it: a process, a file, standard input, an exit status."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scenarios import expected_report_path, first_difference, scenario_logs


def floorpulse(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
    )


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_each_scenario_prints_its_expected_report(log: Path) -> None:
    done = floorpulse("analyze", str(log), "--format", "json")
    assert done.returncode == 0, done.stderr
    expected = json.loads(expected_report_path(log).read_text())
    assert first_difference(json.loads(done.stdout), expected) is None


def test_compressed_log_on_standard_input() -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    done = floorpulse("analyze", "-", stdin=gzip.compress(log.read_bytes()))
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"]["valid"] == 24


def test_unreadable_file_gets_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    done = floorpulse("analyze", str(tmp_path / "missing.jsonl"))
    assert done.returncode != 0
    assert done.stdout == b""
    assert done.stderr.decode().count("\n") == 1
    assert "missing.jsonl" in done.stderr.decode()


def test_a_file_that_is_not_gzip_past_its_magic_is_unreadable(tmp_path: Path) -> None:
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b" + b"not gzip at all" * 100)
    done = floorpulse("analyze", str(broken))
    assert done.returncode == 1
    assert done.stdout == b""
    assert done.stderr.decode().count("\n") == 1
    assert done.stderr.decode().startswith(f"floorpulse analyze: cannot read {broken}")


def test_invalid_lines_are_counted_not_fatal(tmp_path: Path) -> None:
    log = tmp_path / "junk.jsonl"
    log.write_bytes(b'not json\n\n   \n{"v": 2}\n\xff\xfe\n')
    done = floorpulse("analyze", str(log))
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["events"] == {"lines": 3, "valid": 0, "invalid": 3, "duplicate": 0, "late": 0}
    assert report["window"] == {"start_ts": None, "end_ts": None}


def test_text_report_marks_the_three_percent_line_and_speaks_of_care() -> None:
    shift = next(p for p in scenario_logs() if p.name.startswith("shift"))
    done = floorpulse("analyze", str(shift), "--format", "text")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    for campaign in ("camp-a", "camp-b", "camp-c"):
        assert campaign in text
    assert "over 3%" in text
    assert "long stretches without a real break" in text
    assert "never faults" in text


def test_text_report_has_a_queue_table_about_callers_only() -> None:
    inbound = next(p for p in scenario_logs() if p.name.startswith("inbound"))
    done = floorpulse("analyze", str(inbound), "--format", "text")
    assert done.returncode == 0, done.stderr
    text = done.stdout.decode()
    queues = text[text.index("Queues") : text.index("Teams")]
    rows = {line.split()[0]: line.split()[1:] for line in queues.splitlines()[2:] if line.strip()}
    # camp-help: 82 callers, 28 answered, an average wait of 19 s, 27.4% within 20 s, 34 left
    # (and 16 within seconds); camp-a has queue events only on outbound calls: no row.
    assert rows["camp-help"][:5] == ["82", "28", "19s", "27.4%", "34"]
    assert set(rows) == {"camp-c", "camp-help"}
    for word in ("agent", "person", "people by"):
        assert word not in queues.lower().replace("people who called in", "")

    shift = next(p for p in scenario_logs() if p.name.startswith("shift"))
    assert "Queues" not in floorpulse("analyze", str(shift), "--format", "text").stdout.decode()


def test_a_truncated_gzip_gives_the_report_of_what_was_read_and_says_where_it_stopped(
    tmp_path: Path,
) -> None:
    shift = next(p for p in scenario_logs() if p.name.startswith("shift"))
    whole = shift.read_bytes()
    broken = tmp_path / "broken.jsonl.gz"
    broken.write_bytes(whole[: len(whole) // 2])
    done = floorpulse("analyze", str(broken))
    assert done.returncode == 1
    report = json.loads(done.stdout)
    complete = json.loads(floorpulse("analyze", str(shift)).stdout)
    assert 0 < report["events"]["lines"] < complete["events"]["lines"]
    (warning,) = done.stderr.decode().splitlines()
    assert warning.startswith("floorpulse analyze: the log ends early, after line ")
    assert "the report covers the lines before it" in warning


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"", "the log is empty"),
        (b"\n  \n", "it has only blank lines"),
        (b"not json\n{}\n", "none of its 2 lines is a contract event"),
    ],
)
def test_a_log_with_no_applicable_event_says_why(tmp_path: Path, content: bytes, why: str) -> None:
    log = tmp_path / "nothing.jsonl"
    log.write_bytes(content)
    done = floorpulse("analyze", str(log))
    assert done.returncode == 0
    assert json.loads(done.stdout)["events"]["valid"] == 0
    (warning,) = done.stderr.decode().splitlines()
    assert warning.startswith(f"floorpulse analyze: no event could be applied: {why}")


def test_events_stamped_far_after_the_others_are_named_and_counted_as_written(
    tmp_path: Path,
) -> None:
    basic = next(p for p in scenario_logs() if p.name.startswith("basic"))
    lines = basic.read_bytes().splitlines()
    event = json.loads(lines[0])
    strays = [
        json.dumps({**event, "event_id": f"stray-{n}", "ts": 253_402_300_798_000 + n}).encode()
        for n in range(2)
    ]
    log = tmp_path / "jumped.jsonl"
    log.write_bytes(b"\n".join([*lines[:3], strays[0], *lines[3:], strays[1]]) + b"\n")
    done = floorpulse("analyze", str(log))
    assert done.returncode == 0
    (warning,) = done.stderr.decode().splitlines()
    assert warning.startswith(f"floorpulse analyze: lines 4, {len(lines) + 2} are stamped more")
    assert "9999-12-31" in warning
    # The report stays the contract's: the window ends in the year 9999.
    assert json.loads(done.stdout)["window"]["end_ts"] == 253_402_300_798_001
    assert floorpulse("analyze", str(basic)).stderr == b""
