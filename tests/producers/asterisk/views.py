"""Both views of an Asterisk floor translated in memory, as the adapter would, for the tests."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from producers.asterisk.ami import AmiTranslator
from producers.asterisk.capture import read_capture
from producers.asterisk.config import AsteriskSource
from producers.asterisk.queue_log import QueueLogTranslator
from producers.asterisk.tally import Tally
from streams.codec import encode
from streams.codes import Codes
from streams.engine import Params
from streams.events import Event

TEAMS = {f"agent10{n}": "team-a" if n <= 4 else "team-b" for n in range(1, 9)}
FLOOR_A = AsteriskSource(
    source="asterisk-floor-a",
    interface_patterns=["Local/{name}@agents/n"],
    wrapup_s={"sales": 8, "care": 6},
    teams=TEAMS,
)
"""floor-a's configuration: its queues' wrapuptime, its members' interfaces, two teams."""
FLOOR_A_TOML = """\
[sources.asterisk]
source = "asterisk-floor-a"
interface_patterns = ["Local/{name}@agents/n"]
wrapup_s = { sales = 8, care = 6 }
teams = { agent101 = "team-a", agent102 = "team-a", agent103 = "team-a", agent104 = "team-a", \
agent105 = "team-b", agent106 = "team-b", agent107 = "team-b", agent108 = "team-b" }
"""
"""The same, as the floor's configuration file says it."""
PARAMS = Params(codes=Codes(aliases=(("NAMAZ", "prayer"),)))
"""The engine's parameters with the floor's alias for its prayer break."""


def queue_log_events(
    path: Path, config: AsteriskSource = FLOOR_A, file_id: str = "floor-a"
) -> tuple[list[Event], Tally]:
    translator = QueueLogTranslator(config)
    events: list[Event] = []
    offset = 0
    for number, raw in enumerate(path.read_bytes().splitlines(keepends=True), 1):
        events += translator.line(raw, file_id, offset, number)
        offset += len(raw)
    events += translator.finish()
    return events, translator.tally


def capture_events(
    path: Path, config: AsteriskSource = FLOOR_A, skip_action: str | None = None
) -> tuple[list[Event], Tally]:
    """The capture's events, each at its time; those answering `skip_action` left out."""
    translator = AmiTranslator(config)
    events: list[Event] = []
    with path.open(encoding="utf-8", newline="") as lines:
        for captured in read_capture(lines):
            if skip_action is not None and captured.message.get("ActionID") == skip_action:
                continue
            assert captured.ts is not None, captured.where
            events += translator.event(captured.message, captured.ts, captured.where)
    events += translator.finish()
    return events, translator.tally


def encoded(events: Iterable[Event]) -> list[bytes]:
    return [encode(event) for event in events]
