"""One contract for every sink, run against the memory and JSON Lines sinks (Kafka: integration)."""

from __future__ import annotations

import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from producers.sinks import JsonLinesSink, MemorySink, Sink, SinkError

ReadBack = Callable[[], list[tuple[str, bytes]]]
"""What a sink delivered: (key, value) in order, or with the key as "" where it is not stored."""


def _memory(tmp_path: Path) -> tuple[Sink, ReadBack]:
    sink = MemorySink()
    return sink, lambda: [(r.key, r.value) for r in sink.records]


def _file(name: str) -> Callable[[Path], tuple[Sink, ReadBack]]:
    def make(tmp_path: Path) -> tuple[Sink, ReadBack]:
        path = tmp_path / name
        opener = gzip.open if name.endswith(".gz") else open

        def read() -> list[tuple[str, bytes]]:
            with opener(path, "rb") as file:
                return [("", line) for line in file.read().splitlines()]

        return JsonLinesSink(path), read

    return make


SINKS = {"memory": _memory, "jsonl": _file("out.jsonl"), "jsonl.gz": _file("out.jsonl.gz")}


@pytest.fixture(params=sorted(SINKS))
def sink(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[Sink, ReadBack, bool]]:
    made, read = SINKS[request.param](tmp_path)
    yield made, read, request.param == "memory"
    made.close()


def messages(count: int, prefix: str = "key") -> list[tuple[str, str, bytes]]:
    """(topic, key, value) on both dialer topics and five keys; used by the Kafka test too."""
    return [
        (
            "dialer.agent-events" if n % 3 else "dialer.call-events",
            f"{prefix}-{n % 5}",
            b'{"n":%d}' % n,
        )
        for n in range(count)
    ]


def test_everything_sent_is_delivered_in_order_after_close(
    sink: tuple[Sink, ReadBack, bool],
) -> None:
    made, read, keeps_keys = sink
    sent = messages(10_000)  # more than one buffer of lines
    for topic, key, value in sent:
        made.send(topic, key, value)
    made.close()

    delivered = read()
    assert [v for _, v in delivered] == [v for _, _, v in sent]
    if keeps_keys:
        assert [k for k, _ in delivered] == [k for _, k, _ in sent]


def test_flush_in_the_middle_loses_and_repeats_nothing(sink: tuple[Sink, ReadBack, bool]) -> None:
    made, read, _ = sink
    sent = messages(50)
    for n, (topic, key, value) in enumerate(sent):
        made.send(topic, key, value)
        if n % 7 == 0:
            made.flush()
    made.flush()
    made.close()

    assert [v for _, v in read()] == [v for _, _, v in sent]


def test_closing_twice_is_harmless(sink: tuple[Sink, ReadBack, bool]) -> None:
    made, read, _ = sink
    made.send("dialer.call-events", "c", b"{}")
    made.close()
    made.close()

    assert [v for _, v in read()] == [b"{}"]


def test_a_plain_file_shows_what_was_flushed(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    sink = JsonLinesSink(path)
    sink.send("dialer.call-events", "c", b'{"a":1}')
    sink.flush()

    assert path.read_bytes() == b'{"a":1}\n'
    sink.close()


def test_dash_means_standard_output_which_stays_open(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    sink = JsonLinesSink("-")
    sink.send("dialer.agent-events", "a", b'{"a":1}')
    sink.send("dialer.agent-events", "a", b'{"a":2}')
    sink.close()

    assert capsysbinary.readouterr().out == b'{"a":1}\n{"a":2}\n'


def test_an_unwritable_path_is_a_sink_error(tmp_path: Path) -> None:
    with pytest.raises(SinkError, match="cannot write"):
        JsonLinesSink(tmp_path / "no-such-dir" / "out.jsonl")


def test_a_full_disk_is_one_clear_error() -> None:
    sink = JsonLinesSink("/dev/full")
    with pytest.raises(SinkError, match=r"^cannot write /dev/full: No space left on device$"):
        for n in range(JsonLinesSink.BUFFERED_LINES + 1):
            sink.send("t", "k", b'{"n": %d}' % n)
    sink.close()  # closing after the failure says nothing more
