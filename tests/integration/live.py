"""Support for tests of the live pipeline: a broker of the test's own, worker processes, and the
worker's /metrics read back in the report's shape."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, TypeVar

from prometheus_client.parser import text_string_to_metric_families

from streams.processes import terminate

T = TypeVar("T")

CONSUMERS: Final = ("bulk", "faust")
"""`floorpulse worker --consumer`: the key live tests run on both paths, the bulk one (the
default) and Faust's agents."""


def wait_for(what: str, probe: Callable[[], T | None], *, deadline_s: float = 120.0) -> T:
    """Poll `probe` until it returns something other than None; fail with `what` at the deadline."""
    give_up = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while time.monotonic() < give_up:
        try:
            found = probe()
        except OSError as exc:  # a server still starting refuses connections
            last_error = exc
        else:
            if found is not None:
                return found
        time.sleep(0.2)  # polling interval of a condition with a deadline, not a wait for luck
    raise AssertionError(f"timed out after {deadline_s:.0f} s waiting for {what} ({last_error})")


def produce_lines(bootstrap: str, lines: Iterable[bytes]) -> int:
    """Send log lines as a dialer would: by type to its topic, keyed per the contract. Lines
    that name no type go to the agent topic with no key, so that the dead-letter path sees them."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=5)
    sent = 0
    try:
        for line in lines:
            if not line.strip():
                continue
            topic, key = route_line(line)
            producer.send(topic, key=key, value=line.rstrip(b"\n"))
            sent += 1
        producer.flush(timeout=60)
    finally:
        producer.close(timeout=10)
    return sent


def route_line(line: bytes) -> tuple[str, bytes | None]:
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        obj = None
    if isinstance(obj, dict):
        kind = obj.get("type")
        if isinstance(kind, str) and kind.startswith("call."):
            key = obj.get("campaign_id")
            return "dialer.call-events", key.encode() if isinstance(key, str) else None
        key = obj.get("agent_id")
        return "dialer.agent-events", key.encode() if isinstance(key, str) else None
    return "dialer.agent-events", None


@dataclass(frozen=True)
class Message:
    """One message read back from a topic."""

    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


def consume_until(
    bootstrap: str,
    topic: str,
    what: str,
    done: Callable[[list[Message]], bool],
    *,
    deadline_s: float = 60.0,
) -> list[Message]:
    """Every partition of `topic` from the beginning, with no consumer group (nothing commits, no
    offsets move), until `done` holds for what was read; then on to the end of each partition as
    it is at that moment, so that messages beyond what `done` waited for show too. In partition
    and offset order. Fails with `what` at the deadline."""
    from kafka import KafkaConsumer, TopicPartition

    give_up = time.monotonic() + deadline_s
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    try:
        numbers = wait_for(
            f"the partitions of {topic}",
            lambda: consumer.partitions_for_topic(topic) or None,
            deadline_s=deadline_s,
        )
        partitions = [TopicPartition(topic, n) for n in sorted(numbers)]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        read: list[Message] = []
        end: dict[Any, int] | None = None
        while True:
            if end is None and done(read):
                end = consumer.end_offsets(partitions)
            if end is not None and all(consumer.position(tp) >= end[tp] for tp in partitions):
                return sorted(read, key=lambda m: (m.partition, m.offset))
            left = give_up - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out after {deadline_s:.0f} s waiting for {what} on {topic}"
                    f" ({len(read)} message(s) read)"
                )
            batch = consumer.poll(timeout_ms=max(1, int(min(left, 1.0) * 1000)))
            for records in batch.values():
                read += [Message(r.partition, r.offset, r.key, r.value) for r in records]
    finally:
        consumer.close()


def consume(bootstrap: str, topic: str, count: int, *, deadline_s: float = 60.0) -> list[Message]:
    """At least `count` messages of `topic` from the beginning, and any others already there
    (consume_until)."""
    return consume_until(
        bootstrap,
        topic,
        f"{count} message(s)",
        lambda read: len(read) >= count,
        deadline_s=deadline_s,
    )


@dataclass
class WorkerProcess:
    """`floorpulse worker` as a process of its own, as an operator runs it."""

    bootstrap: str
    web_port: int
    log: Path
    data_dir: Path | None = None
    consumer: str | None = None
    """`floorpulse worker --consumer`; None: its default."""
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> WorkerProcess:
        env = {**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": self.bootstrap}
        command = [
            sys.executable,
            "-m",
            "streams.cli",
            "worker",
            "--web-port",
            str(self.web_port),
            "--log-level",
            os.environ.get("FLOORPULSE_TEST_WORKER_LOG", "warn"),
        ]
        if self.data_dir is not None:
            command += ["--data-dir", str(self.data_dir)]
        if self.consumer is not None:
            command += ["--consumer", self.consumer]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        return self

    def stop(self, sig: signal.Signals = signal.SIGTERM) -> None:
        if self.process is not None:
            terminate(self.process, sig)

    def metrics_text(self) -> str:
        url = f"http://127.0.0.1:{self.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=10) as response:
            return str(response.read().decode())

    def samples(self) -> Samples:
        return Samples.parse(self.metrics_text())

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    def assert_consumed_with(self, consumer: str) -> None:
        """That the worker said, as it started, that it consumes the way the test asked."""
        said = self.log.read_text(errors="replace")
        assert f"({consumer} consumer, " in said, said[-3000:]


@dataclass
class Samples:
    """Every sample of one scrape: (name, labels) -> value."""

    values: dict[tuple[str, frozenset[tuple[str, str]]], float]

    @classmethod
    def parse(cls, text: str) -> Samples:
        values = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                values[sample.name, frozenset(sample.labels.items())] = sample.value
        return cls(values)

    def __add__(self, other: Samples) -> Samples:
        summed: dict[tuple[str, frozenset[tuple[str, str]]], float] = defaultdict(float)
        for source in (self.values, other.values):
            for key, value in source.items():
                summed[key] += value
        return Samples(dict(summed))

    def total(self, name: str, **labels: str) -> float:
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self.values.items() if n == name and wanted <= ls)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(ls)[label] for (n, ls) in self.values if n == name and label in dict(ls)}

    def applied(self) -> float:
        return self.total("floorpulse_events_total")


def as_report(samples: Samples) -> dict[str, Any]:
    """The report's campaign and team numbers, rebuilt from exported metrics."""
    campaigns: dict[str, Any] = {}
    for campaign in samples.label_values("floorpulse_calls_dialed_total", "campaign"):
        c = {"campaign": campaign}
        total = samples.total
        outcomes = {
            o: total("floorpulse_calls_unanswered_total", outcome=o, **c)
            for o in samples.label_values("floorpulse_calls_unanswered_total", "outcome")
            if total("floorpulse_calls_unanswered_total", outcome=o, **c)
        }
        dropped = total("floorpulse_calls_dropped_total", **c)
        abandoned = total("floorpulse_calls_abandoned_total", **c)
        campaigns[campaign] = {
            "dialed": total("floorpulse_calls_dialed_total", **c),
            "answered_human": total("floorpulse_calls_answered_total", answered_by="human", **c),
            "answered_machine": total(
                "floorpulse_calls_answered_total", answered_by="machine", **c
            ),
            "unanswered": sum(outcomes.values()),
            "unanswered_by_outcome": outcomes,
            "dropped": dropped,
            "connected": total("floorpulse_calls_connected_total", **c),
            "late_connected": abandoned - dropped,
            "abandoned": abandoned,
            "talked": total("floorpulse_call_talk_seconds_count", **c),
            "talk_seconds": total("floorpulse_call_talk_seconds_sum", **c),
        }
        if campaign in samples.label_values("floorpulse_queue_calls_queued_total", "campaign"):
            campaigns[campaign]["inbound"] = {
                "queued": total("floorpulse_queue_calls_queued_total", **c),
                **{
                    outcome: total("floorpulse_queue_calls_total", outcome=outcome, **c)
                    for outcome in ("answered", "abandoned", "abandoned_short")
                },
                "answered_within_sl": total("floorpulse_queue_answered_within_sl_total", **c),
                "answered_wait_seconds": total("floorpulse_queue_wait_seconds_sum", **c),
            }
    teams: dict[str, Any] = {}
    for team in samples.label_values("floorpulse_dispositions_total", "team"):
        t = {"team": team}
        total = samples.total
        reasons = samples.label_values("floorpulse_break_seconds_count", "reason")
        by_reason = {
            r: {
                "count": total("floorpulse_break_seconds_count", reason=r, **t),
                "seconds": total("floorpulse_break_seconds_sum", reason=r, **t),
            }
            for r in reasons
            if total("floorpulse_break_seconds_count", reason=r, **t)
        }
        teams[team] = {
            "state_seconds": {
                s: total("floorpulse_agent_state_seconds_total", state=s, **t)
                for s in ("ready", "on_call", "wrap_up", "paused")
            },
            "breaks": {
                "count": sum(b["count"] for b in by_reason.values()),
                "seconds": sum(b["seconds"] for b in by_reason.values()),
                "by_reason": by_reason,
            },
            "dispositions": {
                k: total("floorpulse_dispositions_total", **{"class": k}, **t)
                for k in ("positive", "negative", "neutral")
            },
            "checkins": {
                k: total("floorpulse_checkins_opened_total", kind=k, **t)
                for k in ("long_stretch", "high_occupancy", "rejection_streak", "long_shift")
            },
        }
    return {"campaigns": campaigns, "teams": teams}


def report_subset(report: dict[str, Any]) -> dict[str, Any]:
    """The parts of an offline report that the metrics carry."""
    campaign_keys = as_report_keys()["campaign"]
    team_keys = as_report_keys()["team"]
    inbound_keys = as_report_keys()["inbound"]
    campaigns = {}
    for name, c in report["campaigns"].items():
        campaigns[name] = {k: c[k] for k in campaign_keys}
        if "inbound" in c:
            campaigns[name]["inbound"] = {k: c["inbound"][k] for k in inbound_keys}
    return {
        "campaigns": campaigns,
        "teams": {name: {k: t[k] for k in team_keys} for name, t in report["teams"].items()},
    }


def as_report_keys() -> dict[str, tuple[str, ...]]:
    return {
        "campaign": (
            "dialed", "answered_human", "answered_machine", "unanswered",
            "unanswered_by_outcome", "dropped", "connected", "late_connected", "abandoned",
            "talked", "talk_seconds",
        ),
        "team": ("state_seconds", "breaks", "dispositions", "checkins"),
        "inbound": (
            "queued", "answered", "abandoned", "abandoned_short", "answered_within_sl",
            "answered_wait_seconds",
        ),
    }  # fmt: skip


def stop_all(workers: Iterable[WorkerProcess]) -> None:
    for worker in workers:
        worker.stop(signal.SIGKILL)
