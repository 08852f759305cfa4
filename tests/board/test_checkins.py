"""The check-in book: repeats dropped by id, closings replace openings, closed ones fade."""

from __future__ import annotations

import json

from streams.board.checkins import FADE_MS, Book, decode
from streams.engine.checkins import Checkin
from streams.pipeline.wire import checkin_value


def opening(agent: str = "agent-1", team: str = "team-a", opened: int = 1_000) -> Checkin:
    return Checkin(agent, team, "long_stretch", opened, None, "A good moment to offer a break.")


def closing(agent: str = "agent-1", team: str = "team-a", opened: int = 1_000) -> Checkin:
    return Checkin(agent, team, "long_stretch", opened, opened + 60_000, "over")


def test_an_opening_is_open_until_its_closing() -> None:
    book = Book()
    assert book.add(checkin_value(opening())) is not None
    assert [c.agent_id for c in book.open("team-a")] == ["agent-1"]
    assert book.open_count() == {"team-a": 1}
    book.add(checkin_value(closing()))
    assert book.open("team-a") == []
    assert [c.closed_ts for c in book.recently_closed("team-a", 61_000 + 1)] == [61_000]


def test_repeats_are_dropped_by_id() -> None:
    book = Book()
    value = checkin_value(opening())
    assert book.add(value) is not None
    assert book.add(value) is None
    assert len(book.open()) == 1


def test_an_opening_sent_again_after_its_closing_stays_closed() -> None:
    book = Book()
    book.add(checkin_value(closing()))
    # a restarted worker's repeat, but without the id it had (another sender)
    record = json.loads(checkin_value(opening()))
    del record["id"]
    assert book.add(json.dumps(record).encode()) is None
    assert book.open() == []


def test_closed_ones_fade_out_within_minutes() -> None:
    book = Book()
    book.add(checkin_value(closing()))
    assert book.recently_closed("team-a", 61_000 + FADE_MS - 1)
    assert book.recently_closed("team-a", 61_000 + FADE_MS) == []


def test_teams_are_kept_apart() -> None:
    book = Book()
    book.add(checkin_value(opening("agent-1", "team-a")))
    book.add(checkin_value(opening("agent-2", "team-b")))
    assert [c.agent_id for c in book.open("team-b")] == ["agent-2"]
    assert book.teams() == ["team-a", "team-b"]


def test_a_record_that_is_not_a_checkin_is_skipped() -> None:
    book = Book()
    assert book.add(b"not json") is None
    assert book.add(b'{"id": "x", "team_id": "t"}') is None
    assert decode(b"[]") is None
    assert book.open() == []
