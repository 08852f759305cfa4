"""What a live worker writes besides its statistics, read back from a real broker: invalid events
on `dialer.dead-letter` (events.md), check-ins on `floor.checkins` (stats.md), and a /metrics
exposition in which no label names a person (metrics.md)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from streams.codec import InvalidEvent, decode
from streams.engine import Checkin
from streams.events import AgentDisposition, AgentStateChanged
from streams.localkafka import free_ports
from streams.pipeline.wire import checkin_id
from streams.topics import AGENT_EVENTS, CALL_EVENTS, CHECKINS, DEAD_LETTER
from tests.integration.live import (
    CONSUMERS,
    Message,
    Samples,
    WorkerProcess,
    consume,
    consume_until,
    produce_lines,
    stop_all,
    wait_for,
)
from tests.integration.test_worker import expected, read_lines, until_applied
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka

WRAPPER_KEYS: Final = {
    "id", "error", "topic", "partition", "offset", "key", "raw", "raw_encoding",
}  # fmt: skip
TRUNCATED_KEYS: Final = WRAPPER_KEYS | {"reason", "size", "sha256", "truncated"}
CHECKIN_KEYS: Final = {"id", "agent_id", "team_id", "kind", "opened_ts", "closed_ts", "message"}
CHECKIN_KINDS: Final = ("long_stretch", "high_occupancy", "rejection_streak", "long_shift")
SPAN_KINDS: Final = frozenset({"long_stretch", "high_occupancy", "rejection_streak"})
FAULT_WORDS: Final = (
    "violation", "overage", "offender", "worst", "lazy", "penalty", "punish", "rank", "fault",
)  # fmt: skip
ALLOWED_LABELS: Final = frozenset(
    {
        "campaign", "team", "state", "reason", "outcome", "answered_by", "class", "kind",
        "phase", "window", "longer_than", "topic", "type", "error",
        "le", "quantile",  # Prometheus' own
    }
)  # fmt: skip
RECOVERY_MS: Final = 300_000  # stats.md recovery_s
SESSION_GAP_MS: Final = 1_800_000  # stats.md session_gap_s


def scenario(prefix: str) -> Path:
    return next(p for p in scenario_logs() if p.name.startswith(prefix))


@pytest.fixture
def worker(
    request: pytest.FixtureRequest, fresh_broker: str, tmp_path: Path
) -> Iterator[WorkerProcess]:
    """A worker on the fresh broker; its `--consumer` the test's parameter, if it has one."""
    (port,) = free_ports(1)
    consumer = getattr(request, "param", None)
    process = WorkerProcess(fresh_broker, port, tmp_path / "worker.log", consumer=consumer)
    process.start()
    try:
        yield process
    finally:
        stop_all([process])


# dead letters ---------------------------------------------------------------------------------


@pytest.mark.parametrize("worker", CONSUMERS, indirect=True)
def test_invalid_messages_go_to_the_dead_letter_topic_wrapped_and_the_worker_goes_on(
    fresh_broker: str, worker: WorkerProcess
) -> None:
    from kafka import KafkaProducer

    valid = {
        "v": 1, "type": "agent.state", "event_id": "ok-1", "ts": 1767603600000,
        "source": "test", "state": "ready", "agent_id": "agent-ok", "team_id": "T1",
        "campaign_id": "C1",
    }  # fmt: skip
    invalid = [
        # (key, value, the error code the wrapper must start with)
        (b"agent-x", b"{not json", "json"),
        (b"agent-y", b"\xff\xfe\x00 not UTF-8 \xc3\x28", "json"),
        (b"agent-z", json.dumps({**valid, "v": 2, "event_id": "v2"}).encode(), "version"),
    ]
    # One partition for all four, so that the valid event comes after the invalid ones in the
    # order the worker reads them.
    producer = KafkaProducer(bootstrap_servers=fresh_broker)
    try:
        offsets = [
            producer.send(AGENT_EVENTS, key=key, value=value, partition=0).get(timeout=30).offset
            for key, value, _ in invalid
        ]
        producer.send(
            AGENT_EVENTS, key=b"agent-ok", value=json.dumps(valid).encode(), partition=0
        ).get(timeout=30)
    finally:
        producer.close(timeout=10)

    letters = consume(fresh_broker, DEAD_LETTER, len(invalid), deadline_s=90)
    assert len(letters) == len(invalid), [m.value for m in letters]
    by_offset: dict[int, tuple[Message, dict[str, Any]]] = {}
    for message in letters:
        assert message.value is not None
        wrapper = json.loads(message.value)
        assert set(wrapper) == WRAPPER_KEYS, wrapper
        by_offset[wrapper["offset"]] = (message, wrapper)
    assert sorted(by_offset) == sorted(offsets)

    for (key, value, code), offset in zip(invalid, offsets, strict=True):
        message, wrapper = by_offset[offset]
        assert wrapper["error"].startswith(f"{code}:"), wrapper
        assert "\n" not in wrapper["error"]
        assert (wrapper["topic"], wrapper["partition"]) == (AGENT_EVENTS, 0)
        assert wrapper["id"] == f"{AGENT_EVENTS}:0:{offset}"  # the same if sent again
        assert wrapper["key"] == key.decode()
        assert message.key == key
        try:
            text = value.decode("utf-8")
        except UnicodeDecodeError:
            assert wrapper["raw_encoding"] == "base64"
            assert base64.b64decode(wrapper["raw"], validate=True) == value
        else:
            assert wrapper["raw_encoding"] == "utf-8"
            assert wrapper["raw"] == text

    def settled() -> Samples | None:
        samples = worker.samples()
        done = samples.applied() >= 1 and samples.total("floorpulse_events_invalid_total") >= 3
        return samples if done else None

    samples = wait_for("the valid event applied after the invalid ones", settled, deadline_s=60)
    assert samples.total("floorpulse_events_total", topic=AGENT_EVENTS, type="agent.state") == 1
    assert samples.applied() == 1
    invalid_total = "floorpulse_events_invalid_total"
    assert samples.total(invalid_total, topic=AGENT_EVENTS, error="json") == 2
    assert samples.total(invalid_total, topic=AGENT_EVENTS, error="version") == 1
    assert samples.total(invalid_total) == 3


def test_a_message_too_large_to_dead_letter_whole_is_dead_lettered_truncated(
    fresh_broker: str, worker: WorkerProcess
) -> None:
    from kafka import KafkaProducer

    valid = {
        "v": 1, "type": "call.dialed", "event_id": "after-1", "ts": 1767603600000,
        "source": "test", "call_id": "c1", "campaign_id": "C1",
    }  # fmt: skip
    # Control characters swell sixfold as JSON escapes; non-UTF-8 bytes a third as base64;
    # 1.9 MB of anything is too large whole.
    poison = [b"\x01" * 200_000, b"\xff" * 750_000, b"x" * 1_900_000]
    producer = KafkaProducer(bootstrap_servers=fresh_broker, max_request_size=4 * 1024 * 1024)
    try:
        offsets = [
            producer.send(CALL_EVENTS, key=b"C1", value=value, partition=0).get(timeout=30).offset
            for value in poison
        ]
        producer.send(CALL_EVENTS, key=b"C1", value=json.dumps(valid).encode(), partition=0).get(
            timeout=30
        )
    finally:
        producer.close(timeout=10)

    letters = consume(fresh_broker, DEAD_LETTER, len(poison), deadline_s=90)
    by_offset = {w["offset"]: w for w in (json.loads(m.value or b"{}") for m in letters)}
    assert sorted(by_offset) == offsets
    for value, offset in zip(poison, offsets, strict=True):
        wrapper = by_offset[offset]
        assert set(wrapper) == TRUNCATED_KEYS, sorted(wrapper)
        assert (wrapper["error"], wrapper["truncated"]) == ("too_large", True)
        assert wrapper["reason"].startswith("json:")
        assert wrapper["size"] == len(value)
        assert wrapper["sha256"] == hashlib.sha256(value).hexdigest()
        assert wrapper["id"] == f"{CALL_EVENTS}:0:{offset}"

    def applied_after() -> Samples | None:
        samples = worker.samples()
        return samples if samples.total("floorpulse_calls_dialed_total") == 1 else None

    samples = wait_for("the event after the poison applied", applied_after, deadline_s=60)
    assert samples.total("floorpulse_events_invalid_total", topic=CALL_EVENTS) == len(poison)
    assert worker.process is not None and worker.process.poll() is None


# check-ins ------------------------------------------------------------------------------------


def agent_events(lines: list[bytes]) -> dict[str, list[tuple[int, str | None]]]:
    """Per agent, its valid, non-duplicate events in log order: (ts, state), None for a
    disposition (which moves the agent's time on too)."""
    seen: set[str] = set()
    events: defaultdict[str, list[tuple[int, str | None]]] = defaultdict(list)
    for line in lines:
        try:
            event = decode(line.rstrip(b"\n"))
        except InvalidEvent:
            continue
        if event.event_id in seen:
            continue
        seen.add(event.event_id)
        if isinstance(event, AgentStateChanged):
            events[event.agent_id].append((event.ts, event.state.value))
        elif isinstance(event, AgentDisposition):
            events[event.agent_id].append((event.ts, None))
    return events


def decided_ends(events: list[tuple[int, str | None]], off: set[str], min_ms: int) -> list[int]:
    """Starts of the periods in `off` states that followed another state and lasted at least
    `min_ms`, as far as the agent's own events show it: a live worker decides that a period
    lasted when the agent's event time passes its start + `min_ms` (stats.md), so a period still
    running at the agent's last event ends nothing yet."""
    ends: list[int] = []
    start: int | None = None
    decided = worked = False
    for ts, state in events:
        if start is not None and not decided and ts >= start + min_ms:
            ends.append(start)
            decided = True
        if state is None:
            continue
        if state in off:
            if start is None and worked:
                start, decided = ts, False
        else:
            worked, start = True, None
    return ends


def expected_closings(
    openings: list[dict[str, Any]], events: dict[str, list[tuple[int, str | None]]]
) -> dict[tuple[str, str, int], int]:
    """(agent, kind, opened_ts) -> closed_ts for each opening whose cause the log shows over: a
    span check-in closes where the next recovery starts, `long_shift` where the session ends."""
    closings = {}
    for opening in openings:
        agent, kind, opened = opening["agent_id"], opening["kind"], opening["opened_ts"]
        if kind in SPAN_KINDS:
            ends = decided_ends(events[agent], {"paused", "logged_out"}, RECOVERY_MS)
        else:
            ends = decided_ends(events[agent], {"logged_out"}, SESSION_GAP_MS)
        later = [end for end in ends if end >= opened]
        if later:
            closings[agent, kind, opened] = min(later)
    return closings


def test_checkins_are_published_keyed_by_agent_caring_and_opened_before_closed(
    fresh_broker: str, worker: WorkerProcess
) -> None:
    log = scenario("wellbeing")
    report, lines = expected(log), read_lines(log)
    events = agent_events(lines)
    want_openings = Counter[str]()
    for team in report["teams"].values():
        want_openings.update(team["checkins"])
    assert want_openings.total() > 0, "the scenario opens no check-in"

    produce_lines(fresh_broker, lines)
    samples = until_applied([worker], report)

    def complete(read: list[Message]) -> bool:
        values = [json.loads(m.value or b"{}") for m in read]
        if any(set(v) != CHECKIN_KEYS for v in values):
            return True  # malformed: the assertions below say how
        openings = [v for v in values if v["closed_ts"] is None]
        closings = expected_closings(openings, events)
        return len(openings) >= want_openings.total() and len(read) >= len(openings) + len(closings)

    messages = consume_until(fresh_broker, CHECKINS, "every opening and closing", complete)
    values = [json.loads(m.value or b"{}") for m in messages]
    for value in values:
        assert set(value) == CHECKIN_KEYS, value
    openings = [v for v in values if v["closed_ts"] is None]
    closings = [v for v in values if v["closed_ts"] is not None]
    # Each message has its own id, which a restarted worker would give it again.
    assert len({v["id"] for v in values}) == len(values)
    for value in values:
        fields = {k: v for k, v in value.items() if k != "id"}
        assert value["id"] == checkin_id(Checkin(**fields)), value

    # Openings: the report's check-ins, kind by kind.
    assert Counter(v["kind"] for v in openings) == +want_openings
    # Closings: every opening whose span (or session) the log shows over, at its end. The
    # wellbeing log ends both agents' spans by recoveries the agents' later events decide (a2's
    # break, a3's short logout and lunch), so closings must be there; the last spans (and a3's
    # session) run until each agent's last event, which decides nothing yet.
    want_closings = expected_closings(openings, events)
    assert want_closings, "the scenario closes no check-in"
    got_closings = {(v["agent_id"], v["kind"], v["opened_ts"]): v["closed_ts"] for v in closings}
    assert got_closings == want_closings
    assert len(closings) == len(want_closings), "a closing was published twice"

    # Keyed by agent: each agent's check-ins on one partition, so offsets order them.
    partitions: dict[str, set[int]] = defaultdict(set)
    for message, value in zip(messages, values, strict=True):
        assert message.key == value["agent_id"].encode(), (message.key, value)
        partitions[value["agent_id"]].add(message.partition)
    assert all(len(found) == 1 for found in partitions.values()), partitions

    open_now: dict[tuple[str, str], dict[str, Any]] = {}
    for value in values:  # in partition and offset order
        assert value["kind"] in CHECKIN_KINDS
        assert value["team_id"] in report["teams"]
        text = value["message"]
        assert isinstance(text, str) and text.strip(), value
        assert not [w for w in FAULT_WORDS if w in text.lower()], text
        slot = value["agent_id"], value["kind"]
        if value["closed_ts"] is None:
            assert slot not in open_now, f"opened twice without closing: {value}"
            open_now[slot] = value
        else:
            opened = open_now.pop(slot, None)
            assert opened is not None, f"a closing with no earlier opening: {value}"
            assert value["opened_ts"] == opened["opened_ts"]
            assert value["team_id"] == opened["team_id"]
            assert value["closed_ts"] >= value["opened_ts"]

    for kind in CHECKIN_KINDS:
        on_topic = sum(1 for v in openings if v["kind"] == kind)
        assert samples.total("floorpulse_checkins_opened_total", kind=kind) == on_topic, kind


# privacy --------------------------------------------------------------------------------------


def person_ids(lines: list[bytes]) -> set[str]:
    """Every agent_id and call_id of the log, in valid events and invalid JSON objects alike."""
    found: set[str] = set()
    for line in lines:
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict):
            found |= {obj[k] for k in ("agent_id", "call_id") if isinstance(obj.get(k), str)}
    return found


def test_no_label_of_the_exposition_names_a_person(
    fresh_broker: str, worker: WorkerProcess
) -> None:
    log = scenario("shift")
    report, lines = expected(log), read_lines(log)
    ids = person_ids(lines)
    assert ids

    produce_lines(fresh_broker, lines)
    until_applied([worker], report)
    samples = worker.samples()

    ours = {(n, ls) for n, ls in samples.values if n.startswith("floorpulse_")}
    assert len(ours) > 100, "too few floorpulse samples to say anything"
    assert any(n.startswith("faust_") for n, _ in samples.values), "no faust_ samples"
    stray = {(n, label) for n, ls in ours for label, _ in ls if label not in ALLOWED_LABELS}
    assert not stray, sorted(stray)[:10]
    naming = {(n, label, value) for n, ls in samples.values for label, value in ls if value in ids}
    assert not naming, sorted(naming)[:10]


# the web server -------------------------------------------------------------------------------

FAUST_VIEWS: Final = (
    "/",
    "/router/",
    "/router/topics",
    "/router/agents/",
    "/router/agents/a1/",
    "/table/",
    "/table/agents/",
    "/table/agents/a1/",
    "/table/campaigns/C1/",
    "/graph/",
    "/stats/",
    "/assignment/",
    "/performance/",
    "/signals/",
)


def test_the_web_server_serves_metrics_and_health_and_no_faust_view(
    fresh_broker: str, worker: WorkerProcess
) -> None:
    import urllib.error
    import urllib.request

    produce_lines(fresh_broker, read_lines(scenario("basic")))
    wait_for("events applied", lambda: worker.samples().applied() or None, deadline_s=60)
    base = f"http://127.0.0.1:{worker.web_port}"

    def status(path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(base + path, timeout=10) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    for path in FAUST_VIEWS:
        code, body = status(path)
        assert code == 404, (path, code, body[:200])
        assert b'"a1"' not in body
    code, body = status("/health")
    assert code == 200
    health = json.loads(body)
    assert health["status"] in ("ok", "recovering")
    assert all(p.startswith("dialer.") for p in health["partitions"])
    assert status("/metrics")[0] == 200
