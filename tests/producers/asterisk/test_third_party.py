"""AMI transcripts of two other open-source projects (panoramisk, cacofonisk: other Asterisk
versions, agents through app_agent_pool, transfers) translate without an error; what the
translation does not use is counted."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pytest

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.capture import read_capture
from producers.asterisk.config import AsteriskSource
from producers.asterisk.tally import Tally
from streams.codec import decode, encode
from streams.events import AgentStateChanged, CallAbandoned, Event
from tests.dialer_fixtures import dialer_names, dialer_path

START = 1_409_169_900_000
"""A time for events a transcript gives none: one second apart from here."""


def translate(
    messages: Iterable[tuple[int | None, Mapping[str, str], str]],
) -> tuple[list[Event], Tally]:
    translator = AmiTranslator(AsteriskSource())
    events: list[Event] = []
    for n, (ts, message, where) in enumerate(messages):
        events += translator.event(message, ts or START + n * 1000, where)
    events += translator.finish()
    for event in events:
        assert decode(encode(event)) == event
    return events, translator.tally


@pytest.mark.parametrize("name", dialer_names("asterisk/third-party/panoramisk", "*.yaml"))
def test_panoramisk_transcripts(name: str) -> None:
    path = dialer_path("asterisk", "third-party", "panoramisk", name)
    with path.open(encoding="utf-8", newline="") as lines:
        captured = [(c.ts, c.message, c.where) for c in read_capture(lines)]
    events, tally = translate(captured)
    assert tally.problems == 0, tally.named
    expected: dict[str, Any] = {
        "agent_loggued_in.yaml": {"QueueMemberAdded": 1},
        "agent_not_in_pause.yaml": {"QueueMemberPause": 1},
        "queue_status.yaml": {"QueueParams": 1, "QueueMember": 6, "QueueStatusComplete": 1},
        "originate_with_events.yaml": {},
        "queue_add.yaml": {},
    }[name]
    assert dict(tally.translated) == expected
    if name == "queue_status.yaml":
        # Six members listed, one of them paused with no reason given.
        states = [(e.agent_id, str(e.state)) for e in events if isinstance(e, AgentStateChanged)]
        assert len(states) == 6 and ("Agent/999", "paused") in states
    if name == "originate_with_events.yaml":
        assert not events and tally.unknown["VarSet"] == 269 and tally.unknown["AGIExec"] == 260


@pytest.mark.parametrize("name", dialer_names("asterisk/third-party/cacofonisk", "*.json"))
def test_cacofonisk_event_sequences(name: str) -> None:
    path = dialer_path("asterisk", "third-party", "cacofonisk", name)
    sequence = json.loads(path.read_text())
    events, tally = translate((None, m, f"event {n}") for n, m in enumerate(sequence, 1))
    assert tally.problems == 0, tally.named
    assert tally.records == len(sequence)
    assert sum(tally.unknown.values()) + sum(tally.translated.values()) == len(sequence)
    if name == "queue_a_cancel.json":
        # A caller who hung up in the queue: its joining is not in the transcript, its wait is.
        (abandoned,) = [e for e in events if isinstance(e, CallAbandoned)]
        assert abandoned.campaign_id == "670100-540100"
        assert [type(e).__name__ for e in events] == ["CallQueued", "CallAbandoned"]
        assert abandoned.ts - events[0].ts == 11_000
    else:
        assert events == [] and tally.translated == {}
