"""Where produced events go: Kafka, a JSON Lines file, or memory, behind one small interface.

Exceptions:

    SinkError(Exception)   the sink cannot take events: no broker, a topic missing, or the
                           broker refused some of them; the message says what to do.
"""

from __future__ import annotations

import contextlib
import gzip
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Final, NamedTuple, Protocol

from streams.kafka_config import KafkaSecurity, or_environment
from streams.topics import DIALER_TOPICS


class SinkError(Exception):
    """The sink cannot take events; the message says why and what to do."""


class Sink(Protocol):
    """One small interface for every destination. Per key, order of `send` is order of delivery."""

    def send(self, topic: str, key: str, value: bytes) -> None:
        """Queue one message; it may be buffered until `flush` or `close`."""

    def flush(self) -> None:
        """Hand over everything queued so far, raising SinkError if any of it was refused."""

    def close(self) -> None:
        """Flush and release the destination. Closing twice is harmless."""


class _Writable(Protocol):
    def write(self, data: bytes, /) -> object: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...


class Record(NamedTuple):
    topic: str
    key: str
    value: bytes


class MemorySink:
    """Keeps every message in `records`, for tests."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.closed = False

    def send(self, topic: str, key: str, value: bytes) -> None:
        self.records.append(Record(topic, key, value))

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


class JsonLinesSink:
    """Writes each value as one line of a file: gzip-compressed when the name ends in `.gz`, and
    standard output for `-`. Topic and key are not written: `streams.topics.route` recomputes them.
    """

    BUFFERED_LINES: Final = 4096
    """Lines joined into one write: a write per line would cost more than the encoding."""

    def __init__(self, path: str | Path) -> None:
        self._owned = str(path) != "-"
        self._name = "standard output" if not self._owned else str(path)
        try:
            self._file = self._open(Path(path)) if self._owned else sys.stdout.buffer
        except OSError as exc:
            raise SinkError(f"cannot write {path}: {exc.strerror or exc}") from None
        self._lines: list[bytes] = []
        self._closed = False

    @staticmethod
    def _open(path: Path) -> _Writable:
        if path.suffix == ".gz":
            # Level 5: 8% of the size at three times the rate the simulator writes; 9 would slow it.
            return gzip.open(path, "wb", compresslevel=5)
        return path.open("wb")

    def send(self, topic: str, key: str, value: bytes) -> None:
        lines = self._lines
        lines.append(value)
        if len(lines) >= self.BUFFERED_LINES:
            self._write()

    def _write(self) -> None:
        if self._lines:
            self._lines.append(b"")
            data = b"\n".join(self._lines)
            self._lines.clear()
            with self._failing_as_sink_error():
                self._file.write(data)

    def flush(self) -> None:
        self._write()
        with self._failing_as_sink_error():
            self._file.flush()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            if self._owned:
                # After a failed write (a full disk), closing fails the same way: said once.
                with contextlib.suppress(OSError):
                    self._file.close()

    @contextlib.contextmanager
    def _failing_as_sink_error(self) -> Iterator[None]:
        try:
            yield
        except OSError as exc:
            raise SinkError(f"cannot write {self._name}: {exc.strerror or exc}") from None


class KafkaSink:
    """Produces to Kafka with kafka-python's KafkaProducer, keys UTF-8 encoded.

    kafka-python 3 defaults to an idempotent producer with acks=all, so a retried batch is never
    written twice and per-key order holds across retries. Linger and large batches trade a few
    milliseconds of latency for throughput. gzip pays even on a local broker: kafka-python's
    sender thread then handles a tenth of the bytes and holds the GIL less (38k against 23k
    messages/s measured here).

    kafka-python's buffer has no size limit, so `send` waits for old batches once too many
    messages are unacknowledged: memory stays bounded when producing faster than the broker takes.
    `timeout_s` bounds connecting and metadata; delivery gets six times as long. Without
    `security`, the environment's (FLOORPULSE_KAFKA_SECURITY_*).
    """

    MARK_EVERY: Final = 4096
    MAX_MARKS: Final = 32
    """At most about MARK_EVERY * MAX_MARKS messages are unacknowledged at a time."""

    def __init__(
        self,
        bootstrap: str,
        *,
        topics: Iterable[str] = DIALER_TOPICS,
        client_id: str = "floorpulse-simulate",
        timeout_s: float = 10.0,
        security: KafkaSecurity | None = None,
    ) -> None:
        from kafka import KafkaProducer
        from kafka.errors import KafkaError

        from streams.topics_admin import NotAuthenticated, connecting, unreachable

        options = or_environment(security).kafka_python()
        self._bootstrap = bootstrap
        self._kafka_error: type[Exception] = KafkaError
        self._timeout_s = timeout_s
        self._delivery_s = timeout_s * 6
        self._errors: list[BaseException] = []
        self._marks: deque[Any] = deque()
        self._unmarked = 0
        self._closed = False
        try:
            with connecting() as refusal:
                self._producer = KafkaProducer(
                    bootstrap_servers=bootstrap.split(","),
                    client_id=client_id,
                    # kafka-python 3's defaults too, stated: every in-sync replica, no duplicates.
                    acks="all",
                    enable_idempotence=True,
                    linger_ms=10,
                    batch_size=512 * 1024,
                    compression_type="gzip",
                    max_request_size=4 * 1024 * 1024,
                    allow_auto_create_topics=False,
                    bootstrap_timeout_ms=int(timeout_s * 1000),
                    max_block_ms=int(timeout_s * 1000),
                    **options,
                )
        except KafkaError as exc:
            problem = unreachable(bootstrap, exc, options["security_protocol"], refusal.reason)
            if isinstance(problem, NotAuthenticated):
                raise SinkError(str(problem)) from None
            raise SinkError(
                f"no Kafka broker answered at {bootstrap} ({exc}): start one with "
                "`floorpulse kafka start`, or point FLOORPULSE_KAFKA_BOOTSTRAP at one"
            ) from None
        self._check_topics(topics)

    def _check_topics(self, topics: Iterable[str]) -> None:
        missing: list[str] = []
        for topic in topics:
            try:
                if not self._producer.partitions_for(topic):
                    missing.append(topic)
            except self._kafka_error:
                missing.append(topic)
        if missing:
            self._producer.close(timeout=1)
            self._closed = True
            raise SinkError(
                f"topic(s) {', '.join(missing)} missing on {self._bootstrap}: create them with "
                "`floorpulse kafka start` (topics are not auto-created, so that partition counts "
                "stay as configured)"
            )

    def send(self, topic: str, key: str, value: bytes) -> None:
        future = self._producer.send(topic, value=value, key=key.encode())
        future.add_errback(self._errors.append)
        self._unmarked += 1
        if self._unmarked >= self.MARK_EVERY:
            self._unmarked = 0
            self._marks.append(future)
            if len(self._marks) > self.MAX_MARKS:
                self._await(self._marks.popleft())

    def _await(self, future: Any) -> None:
        # A failure is recorded by the errback and reported just below.
        with contextlib.suppress(self._kafka_error):
            future.get(timeout=self._delivery_s)
        self._raise_refused()

    def flush(self) -> None:
        try:
            self._producer.flush(timeout=self._delivery_s)
        except self._kafka_error as exc:
            raise SinkError(
                f"messages still unsent after {self._delivery_s:.0f} s: {exc}"
            ) from None
        self._marks.clear()
        self._raise_refused()

    def _raise_refused(self) -> None:
        if self._errors:
            count, first = len(self._errors), self._errors[0]
            self._errors.clear()
            raise SinkError(f"the broker refused {count} message(s); the first because: {first}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            self.flush()
        finally:
            self._producer.close(timeout=self._timeout_s)
