"""Kafka administration through kafka-python: is a broker answering, and are our topics there.

Exceptions:

    BrokerUnreachable(Exception)   no broker answered at the bootstrap address in time
        NotAuthenticated           a broker answered but refused the client's credentials or
                                   TLS handshake (FLOORPULSE_KAFKA_SECURITY_*)
    TopicsError(Exception)         the broker refused to create a topic; the message says which

Every function takes the connection's security (streams.kafka_config.KafkaSecurity); without
one, that of the environment (FLOORPULSE_KAFKA_SECURITY_*).
"""

from __future__ import annotations

import logging
import re
import socket
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

from streams.kafka_config import KafkaSecurity, or_environment
from streams.topics import (
    AGENT_EVENTS,
    CALL_EVENTS,
    CHECKIN_MAX_BYTES,
    CHECKINS,
    DEAD_LETTER,
    DEAD_LETTER_MAX_BYTES,
    INPUT_MAX_BYTES,
)

DAY_MS: Final = 24 * 60 * 60 * 1000

# Size limits are explicit, not the broker's default: a dialer event is a few hundred bytes, so
# the input topics refuse anything over 2 MiB; a worker dead-letters what they take, truncated
# when its wrapper would not fit the dead-letter topic (streams.pipeline.wire). Check-ins are
# words for the team lead on the current shift; keeping them longer serves no one.
TOPIC_CONFIGS: Final[Mapping[str, Mapping[str, str]]] = {
    AGENT_EVENTS: {"max.message.bytes": str(INPUT_MAX_BYTES)},
    CALL_EVENTS: {"max.message.bytes": str(INPUT_MAX_BYTES)},
    DEAD_LETTER: {"max.message.bytes": str(DEAD_LETTER_MAX_BYTES)},
    CHECKINS: {
        "retention.ms": str(DAY_MS),
        "cleanup.policy": "delete",
        "max.message.bytes": str(CHECKIN_MAX_BYTES),
    },
}

_TOPIC_ALREADY_EXISTS: Final = 36


class BrokerUnreachable(Exception):
    """No Kafka broker answered at the bootstrap address before the deadline."""


class NotAuthenticated(BrokerUnreachable):
    """A broker answered but refused the client's credentials or its TLS handshake."""


class TopicsError(Exception):
    """The broker refused to create a topic; the message names the topic and Kafka's error."""


class AdminClient(Protocol):
    """The part of kafka-python 3's KafkaAdminClient that floorpulse uses (it ships no types)."""

    def list_topics(self) -> list[str]: ...

    def describe_topics(self, topics: list[str] | None = None) -> list[dict[str, Any]]: ...

    def create_topics(
        self, new_topics: dict[str, dict[str, Any]], *, raise_errors: bool
    ) -> dict[str, Any]: ...

    def wait_for_topics(self, topic_names: list[str], timeout_ms: int) -> None: ...

    def describe_configs(self, config_resources: list[Any]) -> dict[str, Any]: ...

    def describe_cluster(self) -> dict[str, Any]: ...

    def alter_user_scram_credentials(self, alterations: list[Any]) -> dict[str, str | None]: ...

    def describe_user_scram_credentials(
        self, users: list[str] | None = None
    ) -> dict[str, dict[str, Any]]: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Replication:
    """How many copies of each partition the cluster keeps (`factor`), and how many must hold a
    write before a producer with acks=all is told it is written (`min_insync`)."""

    factor: int
    min_insync: int

    @classmethod
    def for_cluster(
        cls, brokers: int, factor: int | None = None, min_insync: int | None = None
    ) -> Replication:
        """The settings' values; those unset follow the cluster's size: three replicas of which
        two in sync on three brokers or more (one broker may fail, or restart, and every write
        still has two copies), else one replica per broker and one in sync."""
        factor = factor if factor is not None else max(1, min(3, brokers))
        return cls(factor, min_insync if min_insync is not None else (2 if factor >= 3 else 1))

    def topic_config(self) -> dict[str, str]:
        return {"min.insync.replicas": str(self.min_insync)}


@dataclass(frozen=True, slots=True)
class TopicsReport:
    """What ensure_topics did: topics created, topics found, and found ones of another size."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    other_partition_counts: Mapping[str, int] = field(default_factory=dict)
    replication: Replication | None = None
    """The replication of the topics created (and that they would have had)."""


def servers(bootstrap: str) -> list[tuple[str, int]]:
    """The (host, port) pairs of a `host:port[,host:port...]` bootstrap string."""
    pairs = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


@contextmanager
def admin_client(
    bootstrap: str, *, timeout_s: float, security: KafkaSecurity | None = None
) -> Iterator[AdminClient]:
    """An admin client that has reached the cluster, closed on exit; BrokerUnreachable if none,
    NotAuthenticated if it refused this client.

    A failed bootstrap leaves kafka-python's I/O thread and sockets behind (3.0.x), so a plain
    TCP connect goes first: while nothing listens, this fails without building a client.
    """
    deadline = time.monotonic() + timeout_s
    options = or_environment(security).kafka_python()
    _require_listener(bootstrap, deadline)
    admin_class = _kafka_admin().KafkaAdminClient
    remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
    try:
        with connecting() as refusal:
            client = admin_class(
                bootstrap_servers=[f"{host}:{port}" for host, port in servers(bootstrap)],
                client_id="floorpulse-admin",
                bootstrap_timeout_ms=remaining_ms,
                request_timeout_ms=max(remaining_ms, 5000),
                **options,
            )
    except Exception as exc:
        problem = unreachable(bootstrap, exc, options["security_protocol"], refusal.reason)
        raise problem from exc
    try:
        yield cast(AdminClient, client)
    finally:
        client.close()


def unreachable(
    bootstrap: str, exc: BaseException, protocol: str, reason: str | None = None
) -> BrokerUnreachable:
    """The error for a client that could not connect. NotAuthenticated when it uses SASL or TLS
    and something listens there: the broker refused its credentials or its TLS handshake (a
    broker refusing SCRAM credentials just closes the connection). `reason`: what the client
    logged about it, if anything (connecting()). The clients never log the secrets."""
    text = reason or _refusal_in(exc) or str(exc) or type(exc).__name__
    if protocol != "PLAINTEXT" and (reason or _refusal_in(exc) or _listening(bootstrap)):
        return NotAuthenticated(
            f"Kafka at {bootstrap} answers but did not let this client in over {protocol} "
            f"({text}): check FLOORPULSE_KAFKA_SECURITY_* (the protocol, SCRAM user and "
            "password, CA file, client certificate)"
        )
    if protocol == "PLAINTEXT" and _listening(bootstrap):
        text += "; if that listener asks for SASL or TLS, set FLOORPULSE_KAFKA_SECURITY_*"
    return BrokerUnreachable(f"no Kafka broker answered at {bootstrap}: {text}")


_REFUSAL: Final = re.compile(r"authenticat|ssl|certificate|handshake", re.IGNORECASE)
_RETRY_WORDS: Final = re.compile(
    r"^Bootstrap connection to \S+ failed: |\s*\(backoff [\d.]+ secs\)$"
)


class _Refusal(logging.Filter):
    """On kafka-python's loggers while a client connects: holds back its warnings (they repeat
    at every retry), keeping the last that says why a broker refused the client."""

    def __init__(self) -> None:
        super().__init__()
        self.reason: str | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return True
        text = record.getMessage()
        if _REFUSAL.search(text) and "in the clear" not in text:
            self.reason = _RETRY_WORDS.sub("", text)[-300:]
        return False


@contextmanager
def connecting() -> Iterator[_Refusal]:
    """While a kafka-python client bootstraps: its warnings held back, the reason a broker
    refused it (if it said one) kept in the yielded object's `reason`."""
    refusal = _Refusal()
    loggers = [logging.getLogger("kafka")] + [
        logging.getLogger(name)
        for name in list(logging.Logger.manager.loggerDict)
        if name.startswith("kafka.")
    ]
    for logger in loggers:
        logger.addFilter(refusal)
    try:
        yield refusal
    finally:
        for logger in loggers:
            logger.removeFilter(refusal)


def _refusal_in(exc: BaseException) -> str | None:
    text = f"{type(exc).__name__}: {exc}"
    return text if _REFUSAL.search(text) else None


def _listening(bootstrap: str) -> bool:
    for host, port in servers(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return True
        except OSError:
            continue
    return False


def list_topics(
    bootstrap: str, *, timeout_s: float, security: KafkaSecurity | None = None
) -> list[str]:
    """Topic names, internal ones included, from the broker at `bootstrap`."""
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        try:
            return sorted(admin.list_topics())
        except Exception as exc:
            raise BrokerUnreachable(f"Kafka at {bootstrap} did not list topics: {exc}") from exc


def ensure_topics(
    bootstrap: str,
    partitions: int,
    *,
    timeout_s: float = 30.0,
    configs: Mapping[str, Mapping[str, str]] = TOPIC_CONFIGS,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    security: KafkaSecurity | None = None,
) -> TopicsReport:
    """Create the topics of `configs` (floorpulse's by default) that are missing, with
    `partitions` each and the replication of `Replication.for_cluster` (the given factor and
    min.insync.replicas, the cluster's size deciding those not given); existing ones stay.

    Idempotent: a topic that exists (even one created concurrently) is left as it is, and its
    partition count is reported when it differs: adding partitions would move keys. Returns
    once the broker's metadata shows every topic that was missing, with a leader for each
    partition: on KRaft that can come a moment after the creation, for a topic another client
    created meanwhile too.
    """
    wanted = list(configs)
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        replication = Replication.for_cluster(
            _broker_count(admin), replication_factor, min_insync_replicas
        )
        present = set(admin.list_topics())
        missing = {name: configs[name] for name in wanted if name not in present}
        created = _create(admin, missing, partitions, replication, timeout_s) if missing else []
        existing = [name for name in wanted if name not in created]
        counts = _partition_counts(admin, existing) if existing else {}
    return TopicsReport(
        created=tuple(created),
        existing=tuple(existing),
        other_partition_counts={n: c for n, c in counts.items() if c != partitions},
        replication=replication,
    )


def replication(
    bootstrap: str,
    *,
    replication_factor: int | None = None,
    min_insync_replicas: int | None = None,
    timeout_s: float = 30.0,
    security: KafkaSecurity | None = None,
) -> Replication:
    """`Replication.for_cluster` of the cluster at `bootstrap`: asks it its size only when
    the factor is not given."""
    if replication_factor is not None:
        return Replication.for_cluster(replication_factor, replication_factor, min_insync_replicas)
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        return Replication.for_cluster(_broker_count(admin), None, min_insync_replicas)


def partition_counts(
    bootstrap: str,
    topics: Sequence[str],
    *,
    timeout_s: float,
    security: KafkaSecurity | None = None,
) -> dict[str, int]:
    """The number of partitions of each named topic that exists."""
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        return _partition_counts(admin, list(topics))


def topic_config(
    bootstrap: str, topic: str, *, timeout_s: float, security: KafkaSecurity | None = None
) -> dict[str, str]:
    """The settings a topic has beyond the broker's defaults, such as retention.ms."""
    kafka_admin = _kafka_admin()
    resource = kafka_admin.ConfigResource(kafka_admin.ConfigResourceType.TOPIC, topic)
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        found = admin.describe_configs([resource])
    return {key: entry["value"] for key, entry in found["topic"][topic].items()}


def _create(
    admin: AdminClient,
    configs: Mapping[str, Mapping[str, str]],
    partitions: int,
    replication: Replication,
    timeout_s: float,
) -> list[str]:
    requests = {
        name: {
            "num_partitions": partitions,
            "replication_factor": replication.factor,
            "configs": {**replication.topic_config(), **config},
        }
        for name, config in configs.items()
    }
    response = admin.create_topics(requests, raise_errors=False)
    created = []
    for result in response["topics"]:
        code = result["error_code"]
        if code == 0:
            created.append(result["name"])
        elif code != _TOPIC_ALREADY_EXISTS:
            message = result.get("error_message") or f"Kafka error code {code}"
            raise TopicsError(f"could not create topic {result['name']}: {message}")
    admin.wait_for_topics(list(configs), timeout_ms=int(timeout_s * 1000))
    return [name for name in configs if name in created]


def upsert_scram_users(
    bootstrap: str,
    users: Mapping[str, str],
    mechanisms: Sequence[str],
    *,
    timeout_s: float,
    security: KafkaSecurity | None = None,
) -> None:
    """Give each user (name: password) SCRAM credentials for each mechanism, and return once
    the cluster's metadata has them all (and so its brokers authenticate them). Kafka gets
    salted hashes, computed here; no message carries a password."""
    kafka_admin = _kafka_admin()
    deadline = time.monotonic() + timeout_s
    with admin_client(bootstrap, timeout_s=timeout_s, security=security) as admin:
        # One request per mechanism: Kafka alters a user's credentials once per request.
        for mechanism in mechanisms:
            upserts = [
                kafka_admin.UserScramCredentialUpsertion(user, mechanism, password)
                for user, password in users.items()
            ]
            answers = admin.alter_user_scram_credentials(upserts)
            refused = {user: error for user, error in answers.items() if error}
            if refused:
                raise BrokerUnreachable(
                    f"Kafka at {bootstrap} refused {mechanism} credentials: {refused}"
                )
        wanted = {m.replace("-", "_") for m in mechanisms}
        while True:
            found = admin.describe_user_scram_credentials(list(users))
            if all(
                wanted
                <= {info["mechanism"].name for info in found.get(u, {}).get("credential_infos", [])}
                for u in users
            ):
                return
            if time.monotonic() >= deadline:
                raise BrokerUnreachable(f"Kafka at {bootstrap} did not show the SCRAM users")
            time.sleep(0.1)


def _broker_count(admin: AdminClient) -> int:
    """The brokers the cluster's metadata lists now (registered and not fenced)."""
    return len(admin.describe_cluster()["brokers"])


def _partition_counts(admin: AdminClient, names: list[str]) -> dict[str, int]:
    return {
        topic["name"]: len(topic["partitions"])
        for topic in admin.describe_topics(names)
        if topic.get("error_code", 0) == 0
    }


def _require_listener(bootstrap: str, deadline: float) -> None:
    problems = []
    for host, port in servers(bootstrap):
        try:
            with socket.create_connection((host, port), timeout=_left(deadline, 1.0)):
                return
        except OSError as exc:
            problems.append(f"{host}:{port}: {exc.strerror or exc}")
    raise BrokerUnreachable(f"no Kafka broker answered at {bootstrap} ({'; '.join(problems)})")


def _left(deadline: float, at_most: float) -> float:
    return max(0.05, min(at_most, deadline - time.monotonic()))


def _kafka_admin() -> Any:
    # kafka-python 3.0.x calls importlib.resources.read_text at import time, which warns on 3.11+;
    # muting just that keeps `-W error` runs (pytest here) usable.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", r"\w+ is deprecated\. Use files\(\)", DeprecationWarning)
        import kafka.admin
    return kafka.admin
