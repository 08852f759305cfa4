"""The queue_log loop with time passed in: a quiet log lets time pass as on the clock, so a
wrap-up ends without waiting for the next line, never before its time."""

from __future__ import annotations

import threading
from pathlib import Path

from producers.asterisk.config import AsteriskSource
from producers.asterisk.follow import QueueLogFile
from producers.asterisk.queue_log import QueueLogTranslator
from producers.asterisk.sources import read_queue_log
from producers.output import Output
from producers.sinks import MemorySink
from streams.codec import decode
from streams.events import AgentStateChanged

T = 1_796_399_600


class Clock(threading.Event):
    """A stop request that never comes; each wait moves a clock of its own on instead."""

    def __init__(self, sink: MemorySink) -> None:
        super().__init__()
        self.now = 0.0
        self.sink = sink
        self.sent_at: list[tuple[float, int]] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, timeout: float | None = None) -> bool:
        self.now += timeout or 0.0
        self.sent_at.append((self.now, len(self.sink.records)))
        return False


def test_a_quiet_log_ends_a_wrap_up_on_time_and_idles_out(tmp_path: Path) -> None:
    log = tmp_path / "queue_log"
    log.write_text(
        f"{T}|MANAGER|sales|PJSIP/ali|ADDMEMBER|\n"
        f"{T + 1}|c1|sales|ali|CONNECT|0|x|1\n"
        f"{T + 10}|c1|sales|ali|COMPLETEAGENT|0|9|1\n"
    )
    sink = MemorySink()
    clock = Clock(sink)
    translator = QueueLogTranslator(AsteriskSource(wrapup_s={"sales": 8}))
    done = read_queue_log(
        QueueLogFile(log, follow=True),
        translator,
        Output(sink),
        save=None,
        until_idle_s=60,
        stop=clock,
        clock=clock,
        poll_s=0.5,
    )
    assert done.stopped_by == "idle"
    states = [decode(r.value) for r in sink.records]
    assert [
        (e.ts // 1000 - T, str(e.state)) for e in states if isinstance(e, AgentStateChanged)
    ] == [
        (0, "ready"),
        (1, "on_call"),
        (10, "wrap_up"),
        (18, "ready"),
    ]
    # Sent once the clock was 8 s past the last line, and 2 s more for lines still on their way.
    first = next(at for at, count in clock.sent_at if count == len(sink.records))
    assert 10.0 <= first <= 10.5
