"""The project's own single-node Kafka broker (KRaft): resolve its jars, start it, stop it.

Exceptions:

    LocalKafkaError(Exception)   the broker cannot be resolved, started or stopped; the message
                                 says what happened and what to do
        ToolMissing              java or mvn is not on PATH (or too old); says what to install

A data directory (the command line's default: `.floorpulse/kafka`) holds one broker:

    server.properties   written at every start, from the ports asked for
    broker.pid          the running broker's process id; stop removes it
    broker.out          the JVM's own stdout and stderr (normally empty)
    server.log          the broker's log, INFO and up (deploy/kafka/log4j2.xml)
    data/               Kafka's log.dirs: topic partitions and the KRaft metadata log

stop keeps the data directory, as stopping a database keeps its data: topics, committed offsets
and Faust changelogs survive a restart, which is what recovery is tested with. `wipe=True`
deletes it for a clean slate.

The jars are resolved once per version of deploy/kafka/pom.xml, into
`$XDG_CACHE_HOME/floorpulse/kafka-jars/<hash of the POM>` (default `~/.cache`), outside any data
directory: a wiped data directory, or a second broker in a temporary one, starts without Maven.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from streams.topics_admin import BrokerUnreachable, list_topics

DEPLOY_DIR: Final = Path(__file__).resolve().parent.parent / "deploy" / "kafka"
POM: Final = DEPLOY_DIR / "pom.xml"
LOG4J_CONFIG: Final = DEPLOY_DIR / "log4j2.xml"
HOST: Final = "127.0.0.1"
HEAP: Final = "-Xmx512m"
MIN_JAVA: Final = 17

JAVA_MISSING: Final = (
    "Java 17+ not found on PATH: install a JDK or JRE, 17 or later "
    "(Debian: apt-get install openjdk-17-jre-headless)"
)
MAVEN_MISSING: Final = (
    "Maven not found on PATH: install Apache Maven 3.6.3 or later "
    "(Debian: apt-get install maven); it is needed once, to resolve the broker's jars"
)

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
    """java or mvn is missing or too old; the message says what to install."""


@dataclass(frozen=True, slots=True)
class Ports:
    """The broker's client port and its controller's (KRaft quorum) port, both on 127.0.0.1."""

    broker: int
    controller: int

    @property
    def bootstrap(self) -> str:
        return f"{HOST}:{self.broker}"


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
class Stopped:
    """What stop did: `how` the broker ended (if one ran) and whether the data was deleted."""

    pid: int | None
    how: Literal["terminated", "killed", "not running"]
    wiped: bool


def _silent(_message: str) -> None:
    pass


def start(
    data_dir: Path, ports: Ports, *, timeout_s: float = 90.0, report: Report = _silent
) -> Broker:
    """Start the broker in the background and return once it answers; a running one is reused."""
    layout = DataDir.at(data_dir)
    pid = running_pid(layout)
    if pid is not None:
        bootstrap = recorded_bootstrap(layout) or ports.bootstrap
        _wait_until_answering(pid, bootstrap, layout, time.monotonic() + timeout_s)
        return Broker(pid, bootstrap, layout, True, kafka_version(_cached_jars()))
    layout.pid_file.unlink(missing_ok=True)

    if ports.broker == ports.controller:
        raise LocalKafkaError(f"the client and controller ports must differ (both {ports.broker})")
    java = find_java()
    for port in (ports.broker, ports.controller):
        _require_free(port, layout)
    jars = resolve_jars(report)
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.server_properties.write_text(server_properties(layout, ports))
    if not (layout.log_dirs / "meta.properties").exists():
        report(f"formatting storage in {layout.log_dirs}")
        _format_storage(java, jars, layout)

    pid = _launch(java, jars, layout)
    layout.pid_file.write_text(f"{pid}\n")
    report(f"started the broker (pid {pid}); its log is {layout.server_log}")
    # A start that has failed leaves nothing running, so that the next one starts clean; after
    # Ctrl-C the broker goes on starting, detached, and stop finds it by its pid file.
    try:
        _wait_until_answering(pid, ports.bootstrap, layout, time.monotonic() + timeout_s)
    except LocalKafkaError:
        _end(pid, timeout_s=10.0)
        layout.pid_file.unlink(missing_ok=True)
        raise
    return Broker(pid, ports.bootstrap, layout, False, kafka_version(jars))


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


def server_properties(layout: DataDir, ports: Ports) -> str:
    """The broker's configuration: one node that is its own controller, on 127.0.0.1 only."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        # A static quorum: the storage is then formatted without --standalone.
        "controller.quorum.voters": f"1@{HOST}:{ports.controller}",
        "controller.listener.names": "CONTROLLER",
        "listeners": f"PLAINTEXT://{HOST}:{ports.broker},CONTROLLER://{HOST}:{ports.controller}",
        "advertised.listeners": f"PLAINTEXT://{ports.bootstrap}",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(layout.log_dirs),
        # One node: every internal topic has a single replica or it can never be created.
        "offsets.topic.replication.factor": "1",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "share.coordinator.state.topic.replication.factor": "1",
        "share.coordinator.state.topic.min.isr": "1",
        # Created when the first consumer group appears; the default 50 are needless on one node.
        "offsets.topic.num.partitions": "10",
        # Tests and workers join groups one at a time; the default 3 s delay only slows them.
        "group.initial.rebalance.delay.ms": "0",
        # A misspelt topic name should fail loudly, not create a new topic.
        "auto.create.topics.enable": "false",
    }
    return "\n".join([_MARKER, *(f"{key}={value}" for key, value in settings.items())]) + "\n"


def find_java() -> Path:
    """The java on PATH, if it is Java 17 or later."""
    found = shutil.which("java")
    if found is None:
        raise ToolMissing(JAVA_MISSING)
    try:
        shown = subprocess.run(
            [found, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissing(f"{found} -version failed ({exc}). {JAVA_MISSING}") from exc
    major = _java_major(shown.stderr + shown.stdout)
    if major is None or major < MIN_JAVA:
        found_as = f"Java {major}" if major is not None else "of an unknown version"
        raise ToolMissing(f"{found} is {found_as}. {JAVA_MISSING}")
    return Path(found)


def find_mvn() -> Path:
    """The mvn on PATH."""
    found = shutil.which("mvn")
    if found is None:
        raise ToolMissing(MAVEN_MISSING)
    return Path(found)


def jar_cache_root() -> Path:
    """Where resolved jar sets live, one directory per version of the POM."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "floorpulse" / "kafka-jars"


def resolve_jars(report: Report = _silent) -> Path:
    """The directory of the broker's jars, running Maven only when this POM has no cache yet."""
    cached = _cached_jars()
    if cached.is_dir():
        return cached
    mvn = find_mvn()
    report(f"resolving the broker's jars from Maven Central into {cached} (once per POM version)")
    cached.parent.mkdir(parents=True, exist_ok=True)
    # Maven writes into a private directory that is renamed into place only once complete, so
    # an interrupted resolution is never mistaken for a cache.
    partial = Path(tempfile.mkdtemp(prefix=f"{cached.name}.partial-", dir=cached.parent))
    try:
        _run_maven(mvn, partial)
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


def _run_maven(mvn: Path, output_dir: Path) -> None:
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
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_MVN_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(f"mvn did not finish within {_MVN_TIMEOUT_S:.0f} s") from exc
    if done.returncode != 0 or kafka_version(output_dir) is None:
        output = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise LocalKafkaError(
            f"mvn could not resolve the broker's jars (exit {done.returncode}); "
            f"it needs Maven Central or a filled ~/.m2:\n{output}"
        )


def _java_major(version_text: str) -> int | None:
    found = re.search(r'version "(\d+)(?:\.(\d+))?', version_text)
    if found is None:
        return None
    major = int(found.group(1))
    # Java 8 and older call themselves "1.8.0_x".
    return int(found.group(2) or 0) if major == 1 else major


def _jvm(java: Path, jars: Path, layout: DataDir, main: str, *args: str) -> list[str]:
    return [
        str(java),
        HEAP,
        f"-Dlog4j2.configurationFile={LOG4J_CONFIG}",
        f"-Dkafka.logs.dir={layout.root}",
        "-cp",
        f"{jars}{os.sep}*",
        main,
        *args,
    ]


def _format_storage(java: Path, jars: Path, layout: DataDir) -> None:
    arguments = ["format", "-t", _cluster_id(), "-c", str(layout.server_properties)]
    command = _jvm(java, jars, layout, "kafka.tools.StorageTool", *arguments)
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=_FORMAT_TIMEOUT_S, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise LocalKafkaError(
            f"formatting {layout.log_dirs} took over {_FORMAT_TIMEOUT_S}s"
        ) from exc
    if done.returncode != 0:
        raise LocalKafkaError(
            f"kafka.tools.StorageTool could not format {layout.log_dirs}:\n"
            f"{done.stdout}{done.stderr}\n{log_tails(layout)}"
        )


def _cluster_id() -> str:
    # Kafka's ids are 16 random bytes in unpadded URL-safe base64; like Kafka's own generator,
    # skip those that start with "-", which its command-line tools would read as an option.
    while True:
        candidate = _b64url(os.urandom(16))
        if not candidate.startswith("-"):
            return candidate


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _launch(java: Path, jars: Path, layout: DataDir) -> int:
    command = _jvm(java, jars, layout, "kafka.Kafka", str(layout.server_properties))
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
            list_topics(bootstrap, timeout_s=min(left, 10.0))
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
