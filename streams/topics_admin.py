"""Kafka administration through kafka-python: is a broker answering, and are our topics there.

Exceptions:

    BrokerUnreachable(Exception)   no broker answered at the bootstrap address in time
    TopicsError(Exception)         the broker refused to create a topic; the message says which
"""

from __future__ import annotations

import socket
import time
import warnings
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

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

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class TopicsReport:
    """What ensure_topics did: topics created, topics found, and found ones of another size."""

    created: tuple[str, ...]
    existing: tuple[str, ...]
    other_partition_counts: Mapping[str, int] = field(default_factory=dict)


def servers(bootstrap: str) -> list[tuple[str, int]]:
    """The (host, port) pairs of a `host:port[,host:port...]` bootstrap string."""
    pairs = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        pairs.append((host.strip("[]"), int(port)))
    return pairs


@contextmanager
def admin_client(bootstrap: str, *, timeout_s: float) -> Iterator[AdminClient]:
    """An admin client that has reached the cluster, closed on exit; BrokerUnreachable if none.

    A failed bootstrap leaves kafka-python's I/O thread and sockets behind (3.0.x), so a plain
    TCP connect goes first: while nothing listens, this fails without building a client.
    """
    deadline = time.monotonic() + timeout_s
    _require_listener(bootstrap, deadline)
    admin_class = _kafka_admin().KafkaAdminClient
    remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
    try:
        client = admin_class(
            bootstrap_servers=[f"{host}:{port}" for host, port in servers(bootstrap)],
            client_id="floorpulse-admin",
            bootstrap_timeout_ms=remaining_ms,
            request_timeout_ms=max(remaining_ms, 5000),
        )
    except Exception as exc:
        raise BrokerUnreachable(f"no Kafka broker answered at {bootstrap}: {exc}") from exc
    try:
        yield cast(AdminClient, client)
    finally:
        client.close()


def list_topics(bootstrap: str, *, timeout_s: float) -> list[str]:
    """Topic names, internal ones included, from the broker at `bootstrap`."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
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
) -> TopicsReport:
    """Create the topics of `configs` (floorpulse's by default) that are missing, with
    `partitions` each; existing ones stay.

    Idempotent: a topic that exists (even one created concurrently) is left as it is, and its
    partition count is reported when it differs: adding partitions would move keys. Returns
    once the broker's metadata shows every topic that was missing, with a leader for each
    partition: on KRaft that can come a moment after the creation, for a topic another client
    created meanwhile too.
    """
    wanted = list(configs)
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        present = set(admin.list_topics())
        missing = {name: configs[name] for name in wanted if name not in present}
        created = _create(admin, missing, partitions, timeout_s) if missing else []
        existing = [name for name in wanted if name not in created]
        counts = _partition_counts(admin, existing) if existing else {}
    return TopicsReport(
        created=tuple(created),
        existing=tuple(existing),
        other_partition_counts={n: c for n, c in counts.items() if c != partitions},
    )


def partition_counts(bootstrap: str, topics: Sequence[str], *, timeout_s: float) -> dict[str, int]:
    """The number of partitions of each named topic that exists."""
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        return _partition_counts(admin, list(topics))


def topic_config(bootstrap: str, topic: str, *, timeout_s: float) -> dict[str, str]:
    """The settings a topic has beyond the broker's defaults, such as retention.ms."""
    kafka_admin = _kafka_admin()
    resource = kafka_admin.ConfigResource(kafka_admin.ConfigResourceType.TOPIC, topic)
    with admin_client(bootstrap, timeout_s=timeout_s) as admin:
        found = admin.describe_configs([resource])
    return {key: entry["value"] for key, entry in found["topic"][topic].items()}


def _create(
    admin: AdminClient, configs: Mapping[str, Mapping[str, str]], partitions: int, timeout_s: float
) -> list[str]:
    requests = {
        name: {
            "num_partitions": partitions,
            # -1: the broker's default.replication.factor, which is right for any cluster size.
            "replication_factor": -1,
            "configs": dict(config),
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
