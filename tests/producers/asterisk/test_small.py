"""The first, small capture: static members first seen pausing, a member added and removed
from the CLI, an AMI transcript with no times. Within the transcript's span both views say the
same, once the CLI's member is mapped from its interface."""

from __future__ import annotations

from pathlib import Path

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.capture import read_capture
from producers.asterisk.config import AsteriskSource
from streams.events import AgentStateChanged, Event
from tests.dialer_fixtures import dialer_path
from tests.producers.asterisk.views import queue_log_events

CONFIG = AsteriskSource(interfaces={"Local/1003@agents/n": "agent1003"})
TRANSCRIPT_ENDS = 1_796_398_415_000
"""The transcript's last queue_log second; later lines have no AMI counterpart."""


def what(events: list[Event]) -> list[tuple[str, ...]]:
    return [
        (type(e).__name__, e.agent_id, str(e.state), str(e.reason))
        if isinstance(e, AgentStateChanged)
        else (type(e).__name__, e.call_id)
        for e in events
    ]


def test_both_views_of_the_small_capture_agree() -> None:
    small = dialer_path("asterisk", "small")
    logged, tally = queue_log_events(small / "queue_log", CONFIG, "small")
    assert (tally.problems, dict(tally.unknown), tally.hints) == (0, {}, [])
    translator = AmiTranslator(CONFIG)
    heard: list[Event] = []
    with (small / "ami_transcript.txt").open(encoding="utf-8", newline="") as lines:
        for n, captured in enumerate(read_capture(lines)):
            assert captured.ts is None  # no `# recv` lines in this one: times of our own
            heard += translator.event(captured.message, 1_796_398_373_000 + n * 100, captured.where)
    heard += translator.finish()
    assert translator.tally.problems == 0
    assert what(heard) == what([e for e in logged if e.ts <= TRANSCRIPT_ENDS])
    reasons = [e.reason for e in logged if isinstance(e, AgentStateChanged) and e.reason]
    # The second TRAINING pause began and ended while agent1001 was on a call: no break taken.
    assert reasons == ["LUNCH", "BREAK", "BREAK", "NAMAZ", "TRAINING"]


def test_an_unmapped_interface_is_hinted_at(tmp_path: Path) -> None:
    small = dialer_path("asterisk", "small")
    _, tally = queue_log_events(small / "queue_log", AsteriskSource(), "small")
    assert len(tally.hints) == 1 and "Local/1003@agents/n by interface" in tally.hints[0]
