"""Benchmark: `floorpulse worker` against a plain aiokafka getmany + decode loop, live.

Starts brokers of its own (a temporary directory, free ports on 127.0.0.1; stopped and wiped at
the end), so that no other data mixes with the figures, simulates a large floor (--agents, 2,000
by default: 100 teams, 40 campaigns) and measures, in one run:

- throughput: the first --events events of the floor are produced into the two dialer topics. A
  consumer with no group reads them all back and decodes each with `streams.codec.decode`: the
  raw loop, best of --rounds, the baseline of every ratio. Then Faust alone (bench/faust_alone.py)
  takes the same messages with its stock consumer, in the worker's old batches, to agents that
  only count them. Then one `floorpulse worker` (the bulk consumer, its default), a process of
  its own, consumes the same messages. Its progress is read from its `partitions` table's
  changelog, where every write of its state puts, per input partition, the last offset applied:
  so the timing costs the worker nothing (no scrapes), and runs from the first write seen to
  the one that completes the last partition. One /metrics scrape at the end checks that every
  event is accounted for (applied + duplicate + invalid). Then, each on a fresh broker with the
  same backlog: a worker with `--consumer faust` (Faust's agents, a message at a time), given
  --stock-limit seconds and timed over what it applied by then; and two bulk workers sharing
  the topics: both start on the empty topics and split the partitions, are frozen (SIGSTOP)
  while the backlog is produced and thawed (SIGCONT) together, well within their 10 s session,
  so that neither gets a head start nor a rebalance midway (a rebalance seen is said).
- delay: with the first worker caught up, the floor's next events go out at a steady --rate for
  --seconds, each stamped with the wall clock at its send (the floor's own pace is faster than
  real time, so its calls are shorter; every entity stays in order). Prints p50 and p99 twice:
  the worker's own histogram `floorpulse_event_delay_seconds` (its clock when it applied the
  event minus the event's time, which is its send time; the difference of two scrapes,
  interpolated linearly within its buckets, as Prometheus does): produced to metric updated,
  since /metrics reads the applied state, written or not. And produced to durable, as measured
  here: from handing each event to the producer to seeing the changelog record written after
  the batch that applied it (the worker writes state after every batch while writing costs it
  under a tenth of its time, less often when it is busy; then producer linger, broker, this
  consumer's fetch). (Polling /metrics for the first figure would blur it by the polling
  period.) Meanwhile /metrics is scraped every --scrape-every seconds (15, Prometheus's
  default), as in production: the worker serves it on the event loop that applies events, so a
  slow scrape delays them; each scrape's duration is printed.
- the worker's peak resident memory (VmHWM).

The backlog's event times end two minutes before the run starts, so that the worker treats its
partitions as not live (no ticks) while it catches up. A worker that has not caught up after
--catch-up-limit seconds is reported at the rate it reached, and the delay is then measured on a
fresh broker and worker (said so in the output), since new events would queue behind the backlog.

Goals (issue 18): a worker at 0.15 or more of the raw loop's rate, p99 delay under 100 ms at
2,000 events/s. Every process here shares the machine's cores: on 2 cores, the broker, this
script and the workers compete, which the figures include.

    python bench/pipeline.py                          # 200,000 events, then 2,000/s for 20 s
    python bench/pipeline.py --events 500000 --rate 5000 --seconds 60
    python bench/pipeline.py --profile worker.svg     # py-spy record of the worker catching up
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import logging
import os
import random
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec
from prometheus_client.parser import text_string_to_metric_families

from producers.floor import HOUR, FloorConfig
from producers.kafka_async import KafkaSender, Partition, require_topics
from producers.simulator import simulate
from streams.codec import InvalidEvent, decode, encode
from streams.events import Event
from streams.localkafka import free_ports
from streams.pipeline.entries import load_partition
from streams.pipeline.worker import APP_ID
from streams.processes import terminate
from streams.topics import DIALER_TOPICS, route

GOAL_RATIO: Final = 0.15
GOAL_P99_S: Final = 0.1
PARTITIONS: Final = 6
PROGRESS_TOPIC: Final = f"{APP_ID}-partitions-changelog"
"""Faust names a table's changelog `<app id>-<table>-changelog`; the worker's `partitions` table
holds, per input partition, the last offset applied (streams/pipeline/batch.py)."""
BACKLOG_ENDS_BEFORE_MS: Final = 120_000
"""Backlog event times end this long before the run: more than the worker's live window."""
FAUST_ALONE_LIMIT_S: Final = 300.0
DRAIN_LIMIT_S: Final = 30.0
"""After the steady phase, how long the worker may take to apply what was sent."""
COUNTED: Final = (
    "floorpulse_events_total",
    "floorpulse_events_duplicate_total",
    "floorpulse_events_invalid_total",
)
DELAY_BUCKETS: Final = "floorpulse_event_delay_seconds_bucket"
INF: Final = float("inf")


# -- the floor -------------------------------------------------------------------------------


def simulate_floor(
    backlog: int, steady: int, agents: int, backlog_end_ms: int
) -> tuple[list[Event], list[Event]]:
    """`backlog + steady` events of one floor, the backlog's times shifted to end at
    `backlog_end_ms` (intervals intact); the steady ones get their times when sent."""
    config = FloorConfig(
        agents=agents,
        teams=max(2, agents // 20),
        campaigns=max(1, agents // 50),
        duration_ms=24 * HOUR,
    )
    events = list(itertools.islice(simulate(config, random.Random(7)), backlog + steady))
    if len(events) < backlog + steady:
        raise SystemExit(f"the floor had only {len(events):,} events: raise --agents")
    offset = backlog_end_ms - events[backlog - 1].ts
    shifted = [msgspec.structs.replace(e, ts=e.ts + offset) for e in events[:backlog]]
    return shifted, events[backlog:]


async def produce(bootstrap: str, events: Sequence[Event]) -> None:
    sender = await KafkaSender.connect(bootstrap, client_id="floorpulse-bench")
    try:
        for event in events:
            topic, key = route(event)
            await sender.send(topic, key.encode(), encode(event))
    finally:
        await sender.close()
    if sender.refused:
        raise SystemExit(f"the broker refused {sender.refused} messages: {sender.first_refusal}")


# -- the broker and the worker ---------------------------------------------------------------


@contextmanager
def own_broker(root: Path) -> Iterator[str]:
    """A broker of this run's own under `root`, with floorpulse's topics; wiped afterwards."""
    from streams.localkafka import Ports, start, stop
    from streams.topics_admin import ensure_topics

    data_dir = root / "kafka"
    broker, controller = free_ports(2)
    started = start(data_dir, Ports(broker, controller))
    try:
        ensure_topics(started.bootstrap, PARTITIONS)
        yield started.bootstrap
    finally:
        stop(data_dir, wipe=True)


class WorkerProcess:
    """`floorpulse worker --consumer CONSUMER` as an operator runs it, its output in a log file
    under `root`."""

    def __init__(self, bootstrap: str, root: Path, consumer: str, name: str) -> None:
        self.web_port = free_ports(1)[0]
        self.log = root / f"{name}.log"
        # TMPDIR: the worker's in-memory store still makes a data directory; keep it in ours.
        env = {
            **os.environ,
            "FLOORPULSE_KAFKA_BOOTSTRAP": bootstrap,
            "FLOORPULSE_PARTITIONS": str(PARTITIONS),
            "TMPDIR": str(root),
        }
        command = [sys.executable, "-m", "streams.cli", "worker", "--consumer", consumer]
        command += ["--web-port", str(self.web_port)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.started = time.monotonic()

    @property
    def pid(self) -> int:
        return self.process.pid

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.web_port}/metrics"
        with urllib.request.urlopen(url, timeout=30) as response:
            return str(response.read().decode())

    def require_alive(self) -> None:
        if self.process.poll() is not None:
            raise SystemExit(f"the worker exited:\n{self.log_tail()}")

    def cpu_seconds(self) -> float:
        """User + system CPU time of the worker so far (every thread)."""
        stat = Path(f"/proc/{self.pid}/stat").read_text()
        fields = stat.rpartition(")")[2].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def memory_mib(self, key: str) -> float | None:
        """VmHWM (peak) or VmRSS (now) from /proc, in MiB; None where there is no /proc."""
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
        return None

    def signal(self, sig: signal.Signals) -> None:
        self.process.send_signal(sig)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGCONT)  # should it be frozen
        terminate(self.process)

    def log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


@contextmanager
def running_workers(
    bootstrap: str, root: Path, consumer: str = "bulk", count: int = 1
) -> Iterator[list[WorkerProcess]]:
    workers: list[WorkerProcess] = []
    try:
        for n in range(count):
            workers.append(WorkerProcess(bootstrap, root, consumer, f"worker-{consumer}-{n}"))
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def metric_total(text: str, name: str) -> float:
    """The sum of a metric's samples in a /metrics text."""
    return sum(
        float(line.rpartition(" ")[2])
        for line in text.splitlines()
        if line.startswith((name + "{", name + " "))
    )


def accounted(text: str) -> int:
    """applied + duplicate + invalid from a /metrics text."""
    return round(sum(metric_total(text, name) for name in COUNTED))


def partitions_owned(text: str) -> int:
    return round(metric_total(text, "floorpulse_partitions_owned"))


# -- the worker's progress, from its changelog -----------------------------------------------


class Progress:
    """Follows the worker's `partitions` changelog: per input partition ("topic:partition"),
    how many of its messages the worker has applied, and when each batch was seen here."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.applied: dict[str, int] = {}
        self.seen: list[tuple[float, str, int]] = []
        """(monotonic time, input partition, messages applied there), in the order seen."""

    @classmethod
    async def open(cls, bootstrap: str, worker: WorkerProcess, *, from_end: bool) -> Progress:
        import aiokafka

        from streams.topics_admin import partition_counts

        # The worker creates its changelog topics as it starts.
        give_up = time.monotonic() + 120
        while not (counts := partition_counts(bootstrap, [PROGRESS_TOPIC], timeout_s=10)):
            worker.require_alive()
            if time.monotonic() > give_up:
                raise SystemExit(f"the worker made no {PROGRESS_TOPIC}:\n{worker.log_tail()}")
            await asyncio.sleep(0.2)
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=10,  # to see each batch as soon as it is written
        )
        consumer.assign(
            [aiokafka.TopicPartition(PROGRESS_TOPIC, p) for p in range(counts[PROGRESS_TOPIC])]
        )
        await consumer.start()
        if from_end:
            await consumer.seek_to_end()
        return cls(consumer)

    async def poll(self, timeout_s: float) -> None:
        batches: dict[Any, list[Any]] = await self.consumer.getmany(
            timeout_ms=int(timeout_s * 1000)
        )
        seen_at = time.monotonic()
        for records in batches.values():
            for record in records:
                if record.key is None or record.value is None:
                    continue
                key = msgspec.json.decode(record.key, type=str)
                applied = load_partition(record.value).offset + 1
                if applied > self.applied.get(key, 0):
                    self.applied[key] = applied
                self.seen.append((seen_at, key, applied))

    def total(self) -> int:
        return sum(self.applied.values())

    def reached(self, targets: dict[str, int]) -> bool:
        return all(self.applied.get(key, 0) >= end for key, end in targets.items())

    async def close(self) -> None:
        await self.consumer.stop()


async def read_end_offsets(bootstrap: str, partitions: list[Partition]) -> dict[str, int]:
    """Per input partition ("topic:partition") with messages, how many it holds."""
    import aiokafka

    consumer = aiokafka.AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    await consumer.start()
    try:
        found = await consumer.end_offsets([aiokafka.TopicPartition(*p) for p in partitions])
    finally:
        await consumer.stop()
    return {f"{tp.topic}:{tp.partition}": end for tp, end in found.items() if end}


def end_offsets(bootstrap: str, partitions: list[Partition]) -> dict[str, int]:
    return asyncio.run(read_end_offsets(bootstrap, partitions))


# -- throughput ------------------------------------------------------------------------------


async def raw_loop(
    bootstrap: str, partitions: list[Partition], expected: int
) -> tuple[float, float, int]:
    """Wall and CPU seconds for a groupless consumer to read and decode `expected` events, and
    how many of them were invalid."""
    import aiokafka

    consumer = aiokafka.AIOKafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False
    )
    consumer.assign([aiokafka.TopicPartition(*p) for p in partitions])
    await consumer.start()
    try:
        await consumer.seek_to_beginning()
        wall, cpu = time.perf_counter(), time.process_time()
        give_up = time.monotonic() + 300
        count = invalid = 0
        while count < expected:
            batches: dict[Any, list[Any]] = await consumer.getmany(
                timeout_ms=1000, max_records=10_000
            )
            for records in batches.values():
                for record in records:
                    try:
                        decode(record.value)
                    except InvalidEvent:
                        invalid += 1
                count += len(records)
            if time.monotonic() > give_up:
                raise SystemExit(f"the raw loop read {count:,} of {expected:,} events")
        return time.perf_counter() - wall, time.process_time() - cpu, invalid
    finally:
        await consumer.stop()


@dataclass
class CatchUp:
    """The workers working through the backlog, as their changelog showed it."""

    finished: bool
    first_at: float
    first_applied: int
    """Messages applied by the first batch(es) seen: not timed."""
    last_at: float
    applied: int
    cpu_s: float
    """Of every worker, from the first batch seen."""
    startup_s: float
    """From the start (or the thaw) to the first batch seen."""

    @property
    def rate(self) -> float:
        return (self.applied - self.first_applied) / max(self.last_at - self.first_at, 1e-9)


async def catch_up(
    bootstrap: str,
    workers: Sequence[WorkerProcess],
    targets: dict[str, int],
    limit_s: float,
    profile: Path | None = None,
    since: float | None = None,
    progress: Progress | None = None,
) -> CatchUp:
    """Follow `workers` through the backlog until they have applied `targets` or `limit_s`
    seconds have passed `since` (default: the first worker's start), on `progress` if it is
    given (opened before the workers could apply anything), else on a new one."""
    started = workers[0].started if since is None else since
    if progress is None:
        progress = await Progress.open(bootstrap, workers[0], from_end=False)
    spy = None if profile is None else start_py_spy(workers[0].pid, profile)

    def require_alive() -> None:
        for worker in workers:
            worker.require_alive()

    try:
        give_up = started + limit_s
        while not progress.seen:
            require_alive()
            if time.monotonic() > give_up:
                raise SystemExit(f"the worker applied nothing in time:\n{workers[0].log_tail()}")
            await progress.poll(0.5)
        first_at, first_applied = progress.seen[-1][0], progress.total()
        first_cpu = sum(w.cpu_seconds() for w in workers)
        while not progress.reached(targets) and time.monotonic() < give_up:
            require_alive()
            await progress.poll(0.2)
        cpu_s = sum(w.cpu_seconds() for w in workers) - first_cpu
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)
            spy.wait(timeout=60)
        await progress.close()
    return CatchUp(
        finished=progress.reached(targets),
        first_at=first_at,
        first_applied=first_applied,
        last_at=progress.seen[-1][0],
        applied=progress.total(),
        cpu_s=cpu_s,
        startup_s=first_at - started,
    )


def start_py_spy(pid: int, out: Path) -> subprocess.Popen[bytes]:
    binary = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    formats = {".svg": "flamegraph", ".json": "speedscope"}
    command = [binary, "record", "--pid", str(pid), "--rate", "100", "--output", str(out)]
    command += ["--format", formats.get(out.suffix, "raw")]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def faust_alone(bootstrap: str, expected: int, root: Path) -> tuple[int, float]:
    """bench/faust_alone.py over the backlog: the messages it timed and their seconds."""
    script = Path(__file__).with_name("faust_alone.py")
    env = {**os.environ, "TMPDIR": str(root), "PYTHONPATH": str(script.parent.parent)}
    with (root / "faust-alone.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, str(script), bootstrap, str(expected)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            start_new_session=True,
        )
        try:
            assert process.stdout is not None
            # Its one line comes once every message has arrived.
            ready, _, _ = select.select([process.stdout], [], [], FAUST_ALONE_LIMIT_S)
            line = process.stdout.readline() if ready else b""
        finally:
            terminate(process)
    if not line:
        raise SystemExit(f"Faust alone did not finish:\n{(root / 'faust-alone.log').read_text()}")
    figures = msgspec.json.decode(line)
    return int(figures["events"]), float(figures["seconds"])


# -- delay -----------------------------------------------------------------------------------


@dataclass
class Steady:
    """The steady phase: what was sent when, and when the worker was seen to apply it."""

    sent: int = 0
    seconds: float = 0.0
    delays_s: list[float] = field(default_factory=list)
    """End to end, per event; INF for one not applied within DRAIN_LIMIT_S."""
    scrapes_s: list[float] = field(default_factory=list)
    """How long each /metrics scrape during the phase took."""


async def steady_phase(
    bootstrap: str,
    worker: WorkerProcess,
    events: Sequence[Event],
    rate: float,
    scrape_every_s: float,
) -> Steady:
    """Send `events` at `rate` per second, in bursts every few milliseconds (each event's time
    the wall clock at its burst), while following the worker's changelog and scraping its
    /metrics every `scrape_every_s` seconds (0: never), as Prometheus would."""
    import aiokafka

    progress = await Progress.open(bootstrap, worker, from_end=True)
    producer = aiokafka.AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="floorpulse-bench-steady",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
    )
    await producer.start()
    halt = asyncio.Event()

    steady = Steady()

    async def follow() -> None:
        while not halt.is_set():
            await progress.poll(0.05)

    async def scrape() -> None:
        while scrape_every_s > 0:
            try:
                await asyncio.wait_for(halt.wait(), scrape_every_s)
                return
            except TimeoutError:
                asked = time.monotonic()
                await asyncio.to_thread(worker.metrics)
                steady.scrapes_s.append(time.monotonic() - asked)

    follower = asyncio.create_task(follow())
    scraper = asyncio.create_task(scrape())
    sends: list[tuple[float, Any]] = []
    try:
        started = time.monotonic()
        while steady.sent < len(events):
            at = time.monotonic()
            due = min(len(events), int((at - started) * rate) + 1)
            now_ms = time.time_ns() // 1_000_000
            for event in events[steady.sent : due]:
                stamped = msgspec.structs.replace(event, ts=now_ms)
                topic, key = route(stamped)
                sends.append((at, await producer.send(topic, encode(stamped), key=key.encode())))
            steady.sent = due
            await asyncio.sleep(0.004)
        steady.seconds = time.monotonic() - started
        await producer.flush()
        sent: dict[str, list[tuple[int, float]]] = {}
        for at, delivery in sends:
            metadata = await delivery
            sent.setdefault(f"{metadata.topic}:{metadata.partition}", []).append(
                (metadata.offset, at)
            )
        targets = {key: max(offset for offset, _ in pairs) + 1 for key, pairs in sent.items()}
        give_up = time.monotonic() + DRAIN_LIMIT_S
        while not progress.reached(targets) and time.monotonic() < give_up:
            worker.require_alive()
            await asyncio.sleep(0.05)
    finally:
        halt.set()
        await follower
        await scraper
        await producer.stop()
        await progress.close()
    steady.delays_s = end_to_end(sent, progress.seen)
    return steady


def end_to_end(
    sent: dict[str, list[tuple[int, float]]], seen: list[tuple[float, str, int]]
) -> list[float]:
    """Per event sent (input partition -> (offset, time sent)), seconds until the first
    changelog record of its partition that covers its offset was seen."""
    seen_by_key: dict[str, list[tuple[float, int]]] = {}
    for at, key, applied in seen:
        seen_by_key.setdefault(key, []).append((at, applied))
    delays: list[float] = []
    for key, pairs in sent.items():
        records = seen_by_key.get(key, [])
        i = 0
        for offset, sent_at in sorted(pairs):
            while i < len(records) and records[i][1] <= offset:
                i += 1
            delays.append(records[i][0] - sent_at if i < len(records) else INF)
    return delays


def delay_histogram(text: str) -> dict[str, list[tuple[float, float]]]:
    """Per topic, the cumulative buckets (upper bound in seconds, count) of the event delay."""
    found: dict[str, list[tuple[float, float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == DELAY_BUCKETS:
                bound = float(sample.labels["le"])
                found.setdefault(sample.labels["topic"], []).append((bound, sample.value))
    return {topic: sorted(buckets) for topic, buckets in found.items()}


def histogram_delta(
    before: dict[str, list[tuple[float, float]]], after: dict[str, list[tuple[float, float]]]
) -> list[tuple[float, float]]:
    """The buckets of what was observed between two scrapes, all topics together."""
    summed: dict[float, float] = {}
    for topic, buckets in after.items():
        earlier = dict(before.get(topic, []))
        for bound, count in buckets:
            summed[bound] = summed.get(bound, 0.0) + count - earlier.get(bound, 0.0)
    return sorted(summed.items())


def histogram_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """Prometheus's way: linear within the bucket holding the quantile (from 0 for the first);
    INF when it falls beyond the last finite bound."""
    total = buckets[-1][1] if buckets else 0.0
    if not total:
        return float("nan")
    target, lower, below = q * total, 0.0, 0.0
    for bound, cumulative in buckets:
        if cumulative >= target:
            if bound == INF:
                return INF
            inside = cumulative - below
            return lower + (bound - lower) * ((target - below) / inside if inside else 1.0)
        lower, below = bound, cumulative
    return INF


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@dataclass
class Delay:
    steady: Steady
    buckets: list[tuple[float, float]]
    scrape_s: float
    fresh: bool
    """Measured on a fresh broker and worker, the first not having caught up."""


def measure_delay(
    bootstrap: str, worker: WorkerProcess, events: Sequence[Event], args: argparse.Namespace
) -> Delay:
    asked = time.monotonic()
    before = delay_histogram(worker.metrics())
    scrape_s = time.monotonic() - asked
    steady = asyncio.run(steady_phase(bootstrap, worker, events, args.rate, args.scrape_every))
    after = delay_histogram(worker.metrics())
    return Delay(steady, histogram_delta(before, after), scrape_s, fresh=False)


def wait_until_ready(workers: Sequence[WorkerProcess]) -> None:
    """Until the workers own every input partition between them, each some."""
    give_up = time.monotonic() + 120
    while time.monotonic() < give_up:
        for worker in workers:
            worker.require_alive()
        try:
            owned = [partitions_owned(worker.metrics()) for worker in workers]
        except OSError:
            owned = []  # a web server is not up yet
        if owned and all(owned) and sum(owned) >= 2 * PARTITIONS:
            return
        time.sleep(0.2)
    raise SystemExit(f"the workers did not take the partitions:\n{workers[0].log_tail()}")


def rebalances(workers: Sequence[WorkerProcess]) -> float:
    return sum(metric_total(w.metrics(), "faust_total_rebalances") for w in workers)


def stock_worker(backlog: Sequence[Event], root: Path, limit_s: float) -> CatchUp:
    """A worker with `--consumer faust` over the backlog on a fresh broker, for `limit_s`."""
    with own_broker(root) as bootstrap:
        asyncio.run(produce(bootstrap, backlog))
        targets = end_offsets(bootstrap, require_topics(bootstrap, DIALER_TOPICS, timeout_s=10))
        with running_workers(bootstrap, root, consumer="faust") as workers:
            return asyncio.run(catch_up(bootstrap, workers, targets, limit_s))


def two_workers(
    backlog: Sequence[Event], root: Path, limit_s: float
) -> tuple[CatchUp, float, float]:
    """Two bulk workers sharing the backlog on a fresh broker; with the seconds the backlog
    took to produce while they were frozen, and the rebalances they went through meanwhile."""

    async def thaw_and_follow(
        bootstrap: str, workers: list[WorkerProcess]
    ) -> tuple[CatchUp, float]:
        # Followed from before the thaw, so that the first batch is seen when it is written.
        progress = await Progress.open(bootstrap, workers[0], from_end=False)
        for worker in workers:
            worker.signal(signal.SIGSTOP)
        frozen = time.monotonic()
        try:
            await produce(bootstrap, backlog)
            partitions = require_topics(bootstrap, DIALER_TOPICS, timeout_s=10)
            targets = await read_end_offsets(bootstrap, partitions)
        finally:
            for worker in workers:
                worker.signal(signal.SIGCONT)
        thawed = time.monotonic()
        caught = await catch_up(
            bootstrap, workers, targets, limit_s, since=thawed, progress=progress
        )
        return caught, thawed - frozen

    with own_broker(root) as bootstrap, running_workers(bootstrap, root, count=2) as workers:
        wait_until_ready(workers)
        before = rebalances(workers)
        caught, frozen_s = asyncio.run(thaw_and_follow(bootstrap, workers))
        return caught, frozen_s, rebalances(workers) - before


# -- the run ---------------------------------------------------------------------------------


def ms(seconds: float, inf: str) -> str:
    return inf if seconds == INF else f"{seconds * 1000:,.0f} ms"


def verdict(ok: bool) -> str:
    return "meets" if ok else "below"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000, help="backlog events (200,000)")
    parser.add_argument("--agents", type=int, default=2000, help="agents on the floor (2,000)")
    parser.add_argument("--rate", type=float, default=2000, help="steady events/s (2,000)")
    parser.add_argument("--seconds", type=float, default=20, help="steady phase length (20)")
    parser.add_argument("--rounds", type=int, default=3, help="raw loop: best of this many (3)")
    parser.add_argument(
        "--scrape-every",
        type=float,
        default=15,
        metavar="S",
        help="scrape /metrics every S seconds of the steady phase, as Prometheus would "
        "(15; 0: never)",
    )
    parser.add_argument(
        "--catch-up-limit",
        type=float,
        default=60,
        metavar="S",
        help="seconds from the worker's start to give it to work through the backlog (60)",
    )
    parser.add_argument(
        "--stock-limit",
        type=float,
        default=30,
        metavar="S",
        help="seconds from its start to give the worker with `--consumer faust`, timed over "
        "what it applied by then (30)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="OUT",
        help="py-spy record the worker while it catches up (.svg flame graph, .json "
        "speedscope, anything else collapsed stacks); slows it a little",
    )
    args = parser.parse_args()
    # A new topic's first produce requests meet a leader still settling in and are retried;
    # aiokafka warns of each retry, which says nothing about these figures.
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    # The same for the changelog the worker has just created: aiokafka logs each retry of its
    # first offset lookup as an error; a lookup that fails for good raises anyway.
    logging.getLogger("aiokafka.consumer.fetcher").setLevel(logging.CRITICAL)

    run_started = time.monotonic()
    steady_count = int(args.rate * args.seconds)
    backlog, steady_events = simulate_floor(
        args.events,
        steady_count,
        args.agents,
        time.time_ns() // 1_000_000 - BACKLOG_ENDS_BEFORE_MS,
    )
    memory: list[tuple[str, float | None]] = []
    delay: Delay | None = None
    with tempfile.TemporaryDirectory(prefix="floorpulse-bench-") as tmp_name:
        tmp = Path(tmp_name)
        for phase in ("first", "stock", "two", "delay"):
            (tmp / phase).mkdir()
        with own_broker(tmp / "first") as bootstrap:
            wall = time.perf_counter()
            asyncio.run(produce(bootstrap, backlog))
            produced_s = time.perf_counter() - wall
            print(
                f"broker {bootstrap}, its own; a floor of {args.agents:,} agents; "
                f"{len(backlog):,} events produced in {produced_s:.1f} s; {os.cpu_count()} CPUs,"
                f" shared by the broker, this script and the workers"
                f" (load average {os.getloadavg()[0]:.1f} at the start)"
            )
            partitions = require_topics(bootstrap, DIALER_TOPICS, timeout_s=10)
            raw_runs = [
                asyncio.run(raw_loop(bootstrap, partitions, len(backlog)))
                for _ in range(args.rounds)
            ]
            raw_wall, raw_cpu, raw_invalid = min(raw_runs)
            faust_events, faust_s = faust_alone(bootstrap, len(backlog), tmp / "first")
            targets = end_offsets(bootstrap, partitions)
            with running_workers(bootstrap, tmp / "first") as (worker,):
                caught = asyncio.run(
                    catch_up(bootstrap, [worker], targets, args.catch_up_limit, args.profile)
                )
                if caught.finished:
                    time.sleep(1.0)  # its last writes settle before the baseline scrape
                    counted = accounted(worker.metrics())
                    if counted != len(backlog):
                        print(f"note: /metrics accounts for {counted:,} of {len(backlog):,} events")
                    delay = measure_delay(bootstrap, worker, steady_events, args)
                memory.append(("", worker.memory_mib("VmHWM")))
        stock = stock_worker(backlog, tmp / "stock", args.stock_limit)
        shared, frozen_s, shared_rebalances = two_workers(backlog, tmp / "two", args.catch_up_limit)
        if delay is None:
            with (
                own_broker(tmp / "delay") as bootstrap,
                running_workers(bootstrap, tmp / "delay") as (worker,),
            ):
                wait_until_ready([worker])
                delay = measure_delay(bootstrap, worker, steady_events, args)
                delay.fresh = True
                memory.append((" (fresh worker of the delay phase)", worker.memory_mib("VmHWM")))

    raw_rate = len(backlog) / raw_wall
    faust_rate = faust_events / faust_s

    def row(name: str, rate: float, note: str) -> None:
        print(f"  {name:<34} {rate:>9,.0f}  {rate / raw_rate:>6.3f}  {note}")

    def timed(run: CatchUp) -> str:
        events = run.applied - run.first_applied
        done = "" if run.finished else f", {run.applied:,} of {len(backlog):,} by the limit"
        return (
            f"{events / max(run.cpu_s, 1e-9):,.0f} per CPU s; {events:,} events in "
            f"{run.last_at - run.first_at:.1f} s after the first batch{done}"
        )

    print()
    print(f"throughput over a backlog of {len(backlog):,} events (events/s, ratio to raw):")
    row(
        "raw getmany + decode",
        raw_rate,
        f"{len(backlog) / raw_cpu:,.0f} per CPU s; best of {args.rounds}; {raw_invalid:,} invalid",
    )
    row("Faust alone (stock consumer)", faust_rate, "agents that only count, in batches")
    row(
        "worker (bulk consumer, default)",
        caught.rate,
        timed(caught) + f"; first batch {caught.startup_s:.1f} s after its start",
    )
    row("worker --consumer faust", stock.rate, timed(stock))
    row(
        "two bulk workers sharing the topics",
        shared.rate,
        timed(shared)
        + f"; frozen {frozen_s:.1f} s while the backlog was produced"
        + (f"; {shared_rebalances:.0f} rebalance(s) meanwhile" if shared_rebalances else ""),
    )
    ratio = caught.rate / raw_rate
    print(
        f"  worker / raw {ratio:.3f}: {verdict(ratio >= GOAL_RATIO)} the {GOAL_RATIO} goal; "
        f"worker / Faust alone {caught.rate / faust_rate:.2f}; worker / worker --consumer "
        f"faust {caught.rate / stock.rate:.2f}; two workers / one {shared.rate / caught.rate:.2f}"
    )

    steady = delay.steady
    late = sum(1 for d in steady.delays_s if d == INF)
    p50, p99 = percentile(steady.delays_s, 0.5), percentile(steady.delays_s, 0.99)
    never = f"not within {DRAIN_LIMIT_S:.0f} s after the last send"
    over = "beyond the last bucket"
    print()
    print(
        f"delay at a steady {steady.sent / steady.seconds:,.0f} events/s offered "
        f"({steady.sent:,} events over {steady.seconds:.1f} s)"
        + (", on a fresh broker and worker:" if delay.fresh else ":")
    )
    applied_p99 = histogram_quantile(delay.buckets, 0.99)
    print(
        f"  produced to metric updated (the worker's histogram: its clock when it applied the "
        f"event, which /metrics shows at once, minus the send time the event carries; "
        f"interpolated in buckets): p50 {ms(histogram_quantile(delay.buckets, 0.5), over)}, "
        f"p99 {ms(applied_p99, over)}  {verdict(applied_p99 < GOAL_P99_S)} the "
        f"{GOAL_P99_S * 1000:.0f} ms goal"
        f"  ({delay.buckets[-1][1] if delay.buckets else 0:,.0f} observed)"
    )
    print(
        f"  produced to state in the changelog (its partition's record seen here): "
        f"p50 {ms(p50, never)}, p99 {ms(p99, never)}"
        + (f"; {late:,} events not applied within {DRAIN_LIMIT_S:.0f} s" if late else "")
    )
    during = ", ".join(f"{d * 1000:,.0f} ms" for d in steady.scrapes_s) or "none"
    print(
        f"  /metrics scrapes (the worker serves them on its event loop): idle before the phase "
        f"{delay.scrape_s * 1000:,.0f} ms; during it, every {args.scrape_every:g} s: {during}"
    )
    print()
    for label, peak in memory:
        if peak is not None:
            print(f"worker peak memory{label}: {peak:,.0f} MiB resident (VmHWM)")
    if args.profile is not None:
        print(f"profile of the worker catching up: {args.profile}")
    print(f"run took {time.monotonic() - run_started:.0f} s")


if __name__ == "__main__":
    main()
