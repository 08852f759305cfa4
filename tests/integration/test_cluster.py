"""A three-node cluster (`floorpulse kafka start --brokers 3`): topics and changelogs with three
replicas of which two in sync, and a floor replayed into it while one broker is killed with
SIGKILL and later restarted, the worker and the replay running all along, gives on the worker's
/metrics exactly the offline report: nothing lost, nothing doubled."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from producers.routing import route_line
from streams.kafka_config import PLAINTEXT
from streams.localkafka import (
    Cluster,
    Ports,
    free_ports,
    running_pid,
    start_cluster,
    stop_cluster,
)
from streams.processes import terminate
from streams.topics import DIALER_TOPICS
from streams.topics_admin import admin_client, ensure_topics, topic_config
from tests.integration.live import WorkerProcess, stop_all, wait_for
from tests.integration.test_worker import (
    applied_count,
    assert_matches_report,
    expected,
    read_lines,
    until_applied,
)
from tests.scenarios import scenario_logs

pytestmark = pytest.mark.kafka

NODES: Final = 3
PARTITIONS: Final = 6
REPLAY_S: Final = 40.0
"""How long the replay runs: long enough for a broker to die and come back meanwhile."""


@dataclass(frozen=True)
class LocalCluster:
    """A cluster of the test's own, and the ports to start its nodes again on."""

    cluster: Cluster
    ports: list[Ports]

    @property
    def bootstrap(self) -> str:
        return self.cluster.bootstrap

    def start_again(self) -> Cluster:
        """Start the nodes that do not run (start_cluster reuses those that do)."""
        return start_cluster(self.cluster.data_dir, self.ports)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    """Three nodes of this module's own on free ports, stopped and wiped afterwards."""
    ports = free_ports(2 * NODES)
    nodes = [Ports(ports[i], ports[NODES + i]) for i in range(NODES)]
    data_dir = tmp_path_factory.mktemp("cluster")
    try:
        yield LocalCluster(start_cluster(data_dir, nodes), nodes)
    finally:
        stop_cluster(data_dir, wipe=True, timeout_s=20.0)


def describe(bootstrap: str, topics: list[str]) -> list[dict[str, Any]]:
    with admin_client(bootstrap, timeout_s=10.0, security=PLAINTEXT) as admin:
        return admin.describe_topics(topics)


def ours(bootstrap: str) -> list[str]:
    """floorpulse's topics and the worker's changelogs (Faust's leader topic is its own)."""
    with admin_client(bootstrap, timeout_s=10.0, security=PLAINTEXT) as admin:
        names = admin.list_topics()
    return sorted(n for n in names if not n.startswith("__") and "__assignor" not in n)


def fully_replicated(bootstrap: str, topics: list[str]) -> bool | None:
    """Whether every partition of `topics` has all its replicas in sync."""
    found = describe(bootstrap, topics)
    done = len(found) == len(topics) and all(
        len(p["isr_nodes"]) == NODES == len(p["replica_nodes"])
        for topic in found
        for p in topic["partitions"]
    )
    return True if done else None


def stamp(line: bytes) -> int | None:
    """A line's event time, for the replay's pace (the log has invalid lines, on purpose)."""
    try:
        found = json.loads(line)
    except ValueError:
        return None
    ts = found.get("ts") if isinstance(found, dict) else None
    return ts if isinstance(ts, int) and not isinstance(ts, bool) else None


def busiest_leader(bootstrap: str, topics: list[str]) -> int:
    """The node that leads the most partitions of `topics`: the one whose death moves most."""
    leaders = Counter(
        p["leader_id"] for topic in describe(bootstrap, topics) for p in topic["partitions"]
    )
    return leaders.most_common(1)[0][0]


def messages_in(bootstrap: str, topics: tuple[str, ...]) -> int:
    """How many messages the topics hold (end minus beginning offsets)."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=bootstrap.split(","), group_id=None)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in range(PARTITIONS)]
        ends, starts = consumer.end_offsets(partitions), consumer.beginning_offsets(partitions)
        return sum(ends[tp] - starts[tp] for tp in partitions)
    finally:
        consumer.close()


def test_topics_and_changelogs_are_replicated_three_times_two_in_sync(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    created = ensure_topics(cluster.bootstrap, PARTITIONS, security=PLAINTEXT)
    assert created.replication is not None
    assert (created.replication.factor, created.replication.min_insync) == (3, 2)

    (port,) = free_ports(1)
    worker = WorkerProcess(cluster.bootstrap, port, tmp_path / "worker.log").start()
    try:
        wait_for("the worker's /metrics", lambda: worker.metrics_text() or None)
        topics = ours(cluster.bootstrap)
    finally:
        # Stopped cleanly, it leaves the consumer group at once: the next test's worker joins
        # without waiting for its session to expire.
        worker.stop(signal.SIGTERM)

    changelogs = [t for t in topics if t.endswith("-changelog")]
    assert len(changelogs) == 3, topics
    for topic in describe(cluster.bootstrap, topics):
        assert {len(p["replica_nodes"]) for p in topic["partitions"]} == {3}, topic["name"]
    for name in topics:
        config = topic_config(cluster.bootstrap, name, timeout_s=10.0, security=PLAINTEXT)
        assert config["min.insync.replicas"] == "2", name


def test_a_broker_killed_and_restarted_under_a_replay_loses_and_doubles_nothing(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ensure_topics(cluster.bootstrap, PARTITIONS, security=PLAINTEXT)
    log = next(p for p in scenario_logs() if p.name.startswith("shift"))
    lines = read_lines(log)
    # The replay leaves out the lines it cannot route (the worker never sees them), which the
    # offline report counts as invalid events: all they change.
    routable = [line for line in lines if route_line(line) is not None]
    report = copy.deepcopy(expected(log))
    report["events"]["invalid"] -= len(lines) - len(routable)
    stamps = [ts for ts in map(stamp, lines) if ts is not None]
    span_s = (max(stamps) - min(stamps)) / 1000
    (port,) = free_ports(1)
    worker = WorkerProcess(cluster.bootstrap, port, tmp_path / "worker.log").start()
    replay_log = tmp_path / "replay.log"
    replay: subprocess.Popen[bytes] | None = None
    try:
        wait_for("the worker's /metrics", lambda: worker.metrics_text() or None)
        topics = ours(cluster.bootstrap)
        with replay_log.open("wb") as out:
            replay = subprocess.Popen(
                [
                    sys.executable, "-m", "streams.cli", "replay", str(log),
                    "--speed", f"{span_s / REPLAY_S:.3f}",
                ],
                env={**os.environ, "FLOORPULSE_KAFKA_BOOTSTRAP": cluster.bootstrap},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        total = applied_count(report)
        wait_for(
            "the worker to apply a tenth of the floor",
            lambda: worker.samples().applied() >= total / 10 or None,
        )
        assert replay.poll() is None, "the replay ended before a broker could be killed"

        victim = busiest_leader(cluster.bootstrap, topics)
        node = cluster.cluster.nodes[victim - 1]
        os.kill(node.pid, signal.SIGKILL)
        wait_for("the node to die", lambda: running_pid(node.data_dir) is None or None)
        at_kill = worker.samples().applied()
        # Two replicas of three are left, as many as min.insync.replicas asks: writes go on.
        wait_for(
            "the worker to go on with a node down",
            lambda: worker.samples().applied() >= at_kill + total / 10 or None,
        )
        assert replay.poll() is None, "the replay ended before the node could come back"

        restarted = cluster.start_again()
        assert [n.already_running for n in restarted.nodes] == [
            number != victim for number in range(1, NODES + 1)
        ]
        # The node catches up on what it missed and is in sync again everywhere.
        wait_for(
            "every replica back in sync",
            lambda: fully_replicated(cluster.bootstrap, topics),
            deadline_s=90.0,
        )

        assert replay.wait(timeout=REPLAY_S * 3) == 0, replay_log.read_text()
        samples = until_applied([worker], report)
        assert samples.applied() == total
        assert_matches_report(samples, report)
        # The replay's idempotent producer wrote every line once, retries included.
        assert messages_in(cluster.bootstrap, DIALER_TOPICS) == len(routable)
    finally:
        if replay is not None:
            terminate(replay, grace_s=10)
        stop_all([worker])
