"""Replay and record against the real local broker.

Tests that compare whole logs replay into scratch topics of their own (six partitions each,
deleted afterwards), so that nothing other tests write to the shared topics can leak into what
they record. Tests of the commands use the real topics, mark their events with a source of their
own, and keep only those.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Coroutine, Iterable, Iterator
from pathlib import Path
from typing import Any, Final, TypeVar, cast

import pytest

from producers.floor import MINUTE, FloorConfig
from producers.kafka_async import KafkaReader, KafkaSender, require_topics
from producers.record import RecordOptions, RecordReport, record
from producers.replay import ReplayOptions, ReplayReport, replay
from producers.routing import route_line
from producers.shift import with_ts
from producers.simulator import simulate
from producers.sinks import JsonLinesSink
from producers.when import wall_ms
from streams.analyze import analyze
from streams.codec import InvalidEvent, decode, encode
from streams.logfile import open_log
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from streams.topics_admin import admin_client
from tests.integration.live import wait_for
from tests.scenarios import expected_report_path, first_difference, scenario_logs

pytestmark = pytest.mark.kafka

DEADLINE_S: Final = 60.0
START_MS: Final = 1_767_700_000_000
_T = TypeVar("_T")


def within_deadline(work: Coroutine[Any, Any, _T]) -> _T:
    return asyncio.run(asyncio.wait_for(work, DEADLINE_S))


@pytest.fixture
def scratch(bootstrap: str) -> Iterator[dict[str, str]]:
    """Two topics of this test's own in place of the dialer topics, deleted afterwards."""
    tag = uuid.uuid4().hex[:12]
    topics = {AGENT_EVENTS: f"it-rr-{tag}.agent-events", CALL_EVENTS: f"it-rr-{tag}.call-events"}
    names = list(topics.values())
    with admin_client(bootstrap, timeout_s=10) as admin:
        spec = {"num_partitions": 6, "replication_factor": -1, "configs": {}}
        admin.create_topics({name: dict(spec) for name in names}, raise_errors=True)
        admin.wait_for_topics(names, timeout_ms=int(DEADLINE_S * 1000))
    try:
        yield topics
    finally:
        with admin_client(bootstrap, timeout_s=10) as admin:
            cast(Any, admin).delete_topics(names)


def replay_into(
    bootstrap: str, lines: Iterable[bytes], topics: dict[str, str], **options: Any
) -> ReplayReport:
    """Replay through the real producer; every message must have been taken."""

    async def run() -> tuple[ReplayReport, KafkaSender]:
        sender = await KafkaSender.connect(bootstrap, client_id="floorpulse-test")
        try:
            return await replay(lines, sender.send, ReplayOptions(topics=topics, **options)), sender
        finally:
            await sender.close()

    report, sender = within_deadline(run())
    assert sender.refused == 0, sender.first_refusal
    return report


def record_all(bootstrap: str, topics: dict[str, str], out: Path, **options: Any) -> RecordReport:
    """Everything in `topics` into `out`: from the beginning until now, unless told otherwise."""
    partitions = require_topics(bootstrap, topics.values(), timeout_s=10)
    chosen: dict[str, Any] = {"start": "beginning", "until_ms": wall_ms()} | options

    async def run() -> RecordReport:
        reader = await KafkaReader.connect(bootstrap, partitions, client_id="floorpulse-test")
        sink = JsonLinesSink(out)
        try:
            return await record(reader, partitions, sink, RecordOptions(**chosen))
        finally:
            sink.close()
            await reader.close()

    return within_deadline(run())


def log_lines(path: Path) -> list[bytes]:
    with open_log(str(path)) as lines:
        return [line.rstrip(b"\r\n") for line in lines]


def by_key(lines: Iterable[bytes]) -> dict[tuple[str, bytes | None], list[bytes]]:
    """Routable lines grouped by topic and key, each group in the order given. Lines without a
    key land on any partition, so their group is sorted: only keyed groups have an order."""
    groups: dict[tuple[str, bytes | None], list[bytes]] = defaultdict(list)
    for data in lines:
        routed = route_line(data)
        if routed is not None:
            groups[routed.topic, routed.key].append(data)
    for (_, key), group in groups.items():
        if key is None:
            group.sort()
    return dict(groups)


# whole logs, on scratch topics ------------------------------------------------------------------


@pytest.mark.parametrize("log", scenario_logs(), ids=lambda p: p.name)
def test_a_scenario_replayed_at_max_speed_and_recorded_back_analyses_the_same(
    bootstrap: str, scratch: dict[str, str], tmp_path: Path, log: Path
) -> None:
    with open_log(str(log)) as lines:
        sent = replay_into(bootstrap, lines, scratch, speed=None)
    back = tmp_path / "back.jsonl.gz"
    recorded = record_all(bootstrap, scratch, back)

    assert recorded.total == sent.total_sent
    assert recorded.stopped_by == "until"
    with open_log(str(back)) as lines:
        again = analyze(lines)
    expected = json.loads(expected_report_path(log).read_text())
    for section in ("campaigns", "teams", "window"):
        assert first_difference(again[section], expected[section]) is None, section
    counts, want = again["events"], expected["events"]
    assert counts["lines"] == want["lines"] - sent.unroutable
    assert counts["invalid"] == want["invalid"] - sent.unroutable
    assert {k: counts[k] for k in ("valid", "duplicate", "late")} == {
        k: want[k] for k in ("valid", "duplicate", "late")
    }
    # Values as they were, every agent's and campaign's in its order.
    assert by_key(log_lines(back)) == by_key(log_lines(log))


def test_shift_to_now_preserves_every_interval(
    bootstrap: str, scratch: dict[str, str], tmp_path: Path
) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    before = wall_ms()
    with open_log(str(log)) as lines:
        sent = replay_into(bootstrap, lines, scratch, speed=None, shift_to_now=True)
    after = wall_ms()
    record_all(bootstrap, scratch, tmp_path / "back.jsonl")

    shift = sent.shift_ms
    assert shift is not None and sent.first_ts is not None
    original = log_lines(log)
    first = next(r.ts for r in map(route_line, original) if r is not None and r.ts is not None)
    assert before <= first + shift <= after  # the first line sent happened now
    expected = [
        data if routed is None or routed.ts is None else with_ts(data, routed.ts, routed.ts + shift)
        for data, routed in zip(original, map(route_line, original), strict=True)
    ]
    assert by_key(log_lines(tmp_path / "back.jsonl")) == by_key(expected)


def test_a_replay_at_a_speed_factor_takes_about_the_expected_wall_time(
    bootstrap: str, scratch: dict[str, str]
) -> None:
    # Twenty seconds of event time at ten times real time: due two seconds after the first.
    lines = [
        json.dumps({"type": "agent.state", "agent_id": f"a{n % 3}", "ts": START_MS + n * 1_000})
        for n in range(21)
    ]
    sent = replay_into(bootstrap, [line.encode() for line in lines], scratch, speed=10.0)
    assert sent.total_sent == 21
    # Never early; the upper bound is loose: this is pacing, not a benchmark.
    assert 2.0 - 0.01 <= sent.elapsed_s < 2.0 + 1.5


def test_a_line_with_a_type_but_no_key_is_sent_with_a_null_key(
    bootstrap: str, scratch: dict[str, str], tmp_path: Path
) -> None:
    no_key = b'{"v": 1, "type": "call.dialed", "event_id": "e1", "ts": 1767700000000}'
    keyed = b'{"v": 1, "type": "call.dialed", "event_id": "e2", "campaign_id": "c"}'
    sent = replay_into(bootstrap, [no_key, keyed], scratch, speed=None)
    assert sent.null_keys == 1
    record_all(bootstrap, scratch, tmp_path / "back.jsonl")
    assert sorted(log_lines(tmp_path / "back.jsonl")) == sorted([no_key, keyed])


def test_recording_stops_once_idle(bootstrap: str, scratch: dict[str, str], tmp_path: Path) -> None:
    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    replay_into(bootstrap, log_lines(log), scratch, speed=None)
    recorded = record_all(bootstrap, scratch, tmp_path / "b.jsonl", until_ms=None, until_idle_s=0.5)
    assert recorded.stopped_by == "idle"
    assert recorded.total == 24


def test_recording_moves_no_consumer_group(
    bootstrap: str, scratch: dict[str, str], tmp_path: Path
) -> None:
    from kafka import TopicPartition  # type: ignore[import-untyped, unused-ignore]
    from kafka.errors import KafkaError  # type: ignore[import-untyped, unused-ignore]
    from kafka.structs import OffsetAndMetadata  # type: ignore[import-untyped, unused-ignore]

    log = next(p for p in scenario_logs() if p.name.startswith("basic"))
    replay_into(bootstrap, log_lines(log), scratch, speed=None)
    worker = f"it-rr-worker-{uuid.uuid4().hex[:12]}"
    at_start = {
        TopicPartition(topic, p): OffsetAndMetadata(0, "", -1)
        for topic in scratch.values()
        for p in range(6)
    }
    with admin_client(bootstrap, timeout_s=10) as client:
        admin = cast(Any, client)

        def commit_offsets() -> bool | None:
            # A young broker answers group requests only once its offsets topic is ready.
            try:
                admin.alter_group_offsets(worker, at_start)
            except KafkaError as exc:
                if not exc.retriable:
                    raise
                return None
            return True

        wait_for("the group coordinator", commit_offsets, deadline_s=60)
        before = admin.list_group_offsets({worker: None})
    assert len(before[worker]) == 12
    try:
        assert record_all(bootstrap, scratch, tmp_path / "b.jsonl").total == 24
        with admin_client(bootstrap, timeout_s=10) as client:
            assert cast(Any, client).list_group_offsets({worker: None}) == before
    finally:
        with admin_client(bootstrap, timeout_s=10) as client:
            cast(Any, client).delete_groups([worker])


# the commands, on the shared topics -------------------------------------------------------------


def floorpulse(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams.cli", *args],
        capture_output=True,
        text=True,
        env=os.environ | {"FLOORPULSE_KAFKA_BOOTSTRAP": options.pop("bootstrap")},
        timeout=120,
        check=False,
        **options,
    )


def simulated_log(path: Path, source: str, minutes: int = 20) -> list[bytes]:
    config = FloorConfig(
        agents=12,
        teams=3,
        campaigns=2,
        duration_ms=minutes * MINUTE,
        start_ms=START_MS,
        source=source,
    )
    lines = [encode(event) for event in simulate(config, random.Random(3))]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return lines


def of_source(lines: Iterable[bytes], source: str) -> list[bytes]:
    def ours(data: bytes) -> bool:
        try:
            return decode(data).source == source
        except InvalidEvent:
            return False  # another test's deliberately broken message

    return [data for data in lines if ours(data)]


def test_record_keeps_what_replay_sent_between_since_and_until(
    bootstrap: str, tmp_path: Path
) -> None:
    source = f"it-rr-{uuid.uuid4().hex[:12]}"
    lines = simulated_log(tmp_path / "day.jsonl", source)
    since = wall_ms()

    sent = floorpulse("replay", str(tmp_path / "day.jsonl"), "--speed", "max", bootstrap=bootstrap)
    assert sent.returncode == 0, sent.stderr
    assert f"{len(lines):,} lines to Kafka at {bootstrap}" in sent.stderr
    out = tmp_path / "back.jsonl.gz"
    got = floorpulse(
        "record", str(out), "--since", str(since), "--until", "now", bootstrap=bootstrap
    )

    assert got.returncode == 0, got.stderr
    assert "--until reached" in got.stderr
    ours = of_source(log_lines(out), source)
    assert by_key(ours) == by_key(lines)


def test_an_unroutable_line_is_reported_by_its_number_and_not_sent(
    bootstrap: str, tmp_path: Path
) -> None:
    source = f"it-rr-{uuid.uuid4().hex[:12]}"
    valid = simulated_log(tmp_path / "day.jsonl", source, minutes=1)[:2]
    log = tmp_path / "mixed.jsonl"
    mixed = [valid[0], b"not json", b'[{"type": "agent.state"}]', b'{"type": "sms.sent"}', b""]
    log.write_bytes(b"".join(data + b"\n" for data in [*mixed, valid[1]]))

    done = floorpulse("replay", str(log), "--speed", "max", bootstrap=bootstrap)

    assert done.returncode == 0, done.stderr
    assert f"2 lines to Kafka at {bootstrap}" in done.stderr
    assert (
        "3 unroutable lines NOT sent (line 2: not JSON; line 3: a JSON array, not an object; "
        "line 4: type 'sms.sent' is neither agent.* nor call.*)"
    ) in done.stderr
    assert "1 blank line skipped" in done.stderr


def test_a_message_the_broker_refuses_makes_the_replay_fail(bootstrap: str, tmp_path: Path) -> None:
    # Over the dialer topics' max.message.bytes (2 MiB), within the producer's request size.
    huge = json.dumps({"type": "agent.state", "agent_id": "it-rr-huge", "pad": "x" * 3_000_000})
    log = tmp_path / "huge.jsonl"
    log.write_text(huge + "\n")

    done = floorpulse("replay", str(log), "--speed", "max", bootstrap=bootstrap)

    assert done.returncode == 1
    assert "the broker refused 1 message(s)" in done.stderr


def test_ctrl_c_ends_a_recording_with_every_line_read_in_a_complete_file(
    bootstrap: str, tmp_path: Path
) -> None:
    source = f"it-rr-{uuid.uuid4().hex[:12]}"
    since = wall_ms()
    lines = simulated_log(tmp_path / "day.jsonl", source, minutes=200)
    assert len(lines) > 3 * JsonLinesSink.BUFFERED_LINES
    sent = floorpulse("replay", str(tmp_path / "day.jsonl"), "--speed", "max", bootstrap=bootstrap)
    assert sent.returncode == 0, sent.stderr
    out = tmp_path / "live.jsonl.gz"

    recorder = subprocess.Popen(
        [sys.executable, "-m", "streams.cli", "record", str(out), "--since", str(since)],
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap},
    )
    try:
        # Compressed lines reach the file once the first few thousand have been read.
        deadline = time.monotonic() + DEADLINE_S
        while not (out.exists() and out.stat().st_size > 1_000):
            assert time.monotonic() < deadline, "the recording wrote nothing"
            # Waiting on the process between looks: it must not end by itself.
            with contextlib.suppress(subprocess.TimeoutExpired):
                recorder.wait(timeout=0.05)
            assert recorder.returncode is None, recorder.communicate()[1]
        recorder.send_signal(signal.SIGINT)
        _, stderr = recorder.communicate(timeout=DEADLINE_S)
    finally:
        if recorder.poll() is None:
            recorder.kill()
            recorder.wait()

    assert recorder.returncode == 0, stderr
    assert "stopped on request" in stderr
    written = gzip.decompress(out.read_bytes()).splitlines()  # a truncated file would raise
    summary = re.search(r"floorpulse record: ([\d,]+) events", stderr)
    assert summary is not None, stderr
    assert int(summary[1].replace(",", "")) == len(written) >= JsonLinesSink.BUFFERED_LINES
