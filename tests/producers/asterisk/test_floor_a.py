"""floor-a, a real Asterisk 22 floor recorded three ways at once: its queue_log and its AMI
stream translate to valid events that give the same report, and both agree with what the
driver ordered (driver.jsonl)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from streams.analyze import analyze
from streams.codec import decode, encode
from streams.events import AgentStateChanged, CallAbandoned, CallConnected, CallQueued, Event
from tests.dialer_fixtures import dialer_path
from tests.producers.asterisk.views import (
    FLOOR_A,
    PARAMS,
    capture_events,
    encoded,
    queue_log_events,
)

VIEWS = ("queue_log", "ami")


@pytest.fixture(scope="module")
def floor_a() -> Path:
    return dialer_path("asterisk", "floor-a")


@pytest.fixture(scope="module")
def views(floor_a: Path) -> dict[str, list[Event]]:
    return {
        "queue_log": queue_log_events(floor_a / "queue_log")[0],
        "ami": capture_events(floor_a / "ami.txt")[0],
    }


@pytest.fixture(scope="module")
def reports(views: dict[str, list[Event]]) -> dict[str, dict[str, Any]]:
    return {view: analyze(encoded(events), PARAMS) for view, events in views.items()}


@pytest.fixture(scope="module")
def driver(floor_a: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (floor_a / "driver.jsonl").read_text().splitlines()]


def test_queue_log_translates_every_line(floor_a: Path) -> None:
    events, tally = queue_log_events(floor_a / "queue_log")
    assert tally.records == 276
    assert (tally.problems, dict(tally.unknown), tally.hints) == (0, {}, [])
    assert tally.quiet == {"PAUSEALL": 4, "UNPAUSEALL": 4}
    assert all(decode(encode(event)) == event for event in events)


def test_ami_translates_every_queue_event(floor_a: Path) -> None:
    events, tally = capture_events(floor_a / "ami.txt")
    assert tally.problems == 0
    # What is left out is the channels' own life (VarSet, Newexten...), nothing of the queues.
    assert not [name for name in tally.unknown if name.startswith(("Queue", "Agent"))]
    assert tally.translated["AgentComplete"] == 69
    assert tally.quiet == {"QueueMemberStatus": 258}
    assert all(decode(encode(event)) == event for event in events)


@pytest.mark.parametrize("view", VIEWS)
def test_every_event_id_is_unique_and_within_the_contract(
    views: dict[str, list[Event]], view: str
) -> None:
    ids = [event.event_id for event in views[view]]
    assert len(set(ids)) == len(ids)
    assert all(
        event_id.startswith("asterisk-floor-a:") and len(event_id) <= 128 for event_id in ids
    )


def test_both_views_count_the_same_calls_per_queue(reports: dict[str, dict[str, Any]]) -> None:
    def counts(report: dict[str, Any]) -> dict[str, tuple[int, ...]]:
        return {
            name: (
                c["inbound"]["queued"],
                c["inbound"]["answered"],
                c["inbound"]["abandoned"] + c["inbound"]["abandoned_short"],
                c["connected"],
                c["talked"],
            )
            for name, c in report["campaigns"].items()
        }

    queue_log, ami = counts(reports["queue_log"]), counts(reports["ami"])
    assert queue_log == ami == {"sales": (43, 40, 3, 40, 40), "care": (32, 29, 3, 29, 29)}


def test_both_views_give_the_same_events_apart_from_their_times(
    views: dict[str, list[Event]],
) -> None:
    def what(event: Event) -> tuple[object, ...]:
        fields = {k: v for k, v in json.loads(encode(event)).items() if k not in ("event_id", "ts")}
        return tuple(sorted(fields.items()))

    assert Counter(map(what, views["queue_log"])) == Counter(map(what, views["ami"]))


def test_both_views_give_the_same_breaks_by_reason(reports: dict[str, dict[str, Any]]) -> None:
    by_view = {
        view: {team: t["breaks"]["by_reason"] for team, t in reports[view]["teams"].items()}
        for view in VIEWS
    }
    for team, reasons in by_view["queue_log"].items():
        other = by_view["ami"][team]
        assert {r: b["count"] for r, b in reasons.items()} == {
            r: b["count"] for r, b in other.items()
        }
        for reason, breaks in reasons.items():
            # Each break's start and end are whole seconds in queue_log.
            assert abs(breaks["seconds"] - other[reason]["seconds"]) <= breaks["count"]
    seen = Counter()
    for reasons in by_view["queue_log"].values():
        seen.update({r: b["count"] for r, b in reasons.items()})
    # BREAK twice and once more when agent102's reason changed; NAMAZ is the floor's prayer.
    assert seen == {"break": 3, "restroom": 2, "training": 1, "lunch": 1, "prayer": 1, "other": 1}


def test_state_seconds_agree_within_a_second_per_interval(
    views: dict[str, list[Event]], reports: dict[str, dict[str, Any]]
) -> None:
    intervals = Counter(
        (e.team_id, str(e.state)) for e in views["queue_log"] if isinstance(e, AgentStateChanged)
    )
    for team, numbers in reports["queue_log"]["teams"].items():
        other = reports["ami"]["teams"][team]
        assert numbers["agents"] == other["agents"] == 4
        for state, seconds in numbers["state_seconds"].items():
            assert seconds > 0
            allowed = intervals[team, state] * 1.0
            assert abs(seconds - other["state_seconds"][state]) <= allowed, (team, state)


def test_the_queues_end_snapshot_changes_nothing(floor_a: Path) -> None:
    """The capture ends with QueueStatus: the final members, exactly as the events left them."""
    with_it = capture_events(floor_a / "ami.txt")[0]
    without = capture_events(floor_a / "ami.txt", skip_action="cap-snapshot-end")[0]
    assert with_it == without


def test_reading_a_view_again_gives_only_duplicates(floor_a: Path) -> None:
    once = encoded(queue_log_events(floor_a / "queue_log")[0])
    twice = analyze(once + once, PARAMS)
    assert twice["events"]["duplicate"] == len(once)
    assert {k: v for k, v in twice.items() if k != "events"} == {
        k: v for k, v in analyze(once, PARAMS).items() if k != "events"
    }


@pytest.mark.parametrize("view", VIEWS)
def test_every_pause_the_driver_ordered_is_seen_with_its_reason(
    views: dict[str, list[Event]], driver: list[dict[str, Any]], view: str
) -> None:
    paused = [
        e for e in views[view] if isinstance(e, AgentStateChanged) and str(e.state) == "paused"
    ]
    actions = [a for a in driver if a.get("action") in ("agent_pause", "agent_unpause")]
    pauses = [a for a in actions if a["action"] == "agent_pause"]
    assert len(pauses) == 9
    for pause in pauses:
        # A pause ordered during a call starts when the call ends; it lasts until unpaused.
        ends = [
            a["t_ms"]
            for a in actions
            if a["agent"] == pause["agent"]
            and a["t_ms"] > pause["t_ms"]
            and a["action"] == "agent_unpause"
        ]
        until = min(ends) + 1000
        reason = pause["reason"] or FLOOR_A.no_reason
        found = [
            e
            for e in paused
            if e.agent_id == pause["agent"]
            and e.reason == reason
            and pause["t_ms"] - 1000 <= e.ts <= until
        ]
        assert found, f"{view}: {pause['agent']} paused {reason} at {pause['t_rel_s']} s"


@pytest.mark.parametrize("view", VIEWS)
def test_logins_and_logoffs_are_where_the_driver_ordered_them(
    views: dict[str, list[Event]], driver: list[dict[str, Any]], view: str
) -> None:
    states = [e for e in views[view] if isinstance(e, AgentStateChanged)]
    for login in (a for a in driver if a.get("action") == "agent_login"):
        before = [
            e for e in states if e.agent_id == login["agent"] and e.ts <= login["t_ms"] + 1000
        ]
        assert before and str(before[-1].state) != "logged_out", login["seq"]
    logoffs = [a for a in driver if a.get("action") == "agent_logoff"]
    outs = [e for e in states if str(e.state) == "logged_out"]
    assert [(e.agent_id, e.campaign_id) for e in outs] == [("agent104", "sales")]
    assert abs(outs[0].ts - logoffs[-1]["t_ms"]) <= 1000


@pytest.mark.parametrize("view", VIEWS)
def test_every_call_is_where_the_driver_saw_it(
    views: dict[str, list[Event]], driver: list[dict[str, Any]], view: str
) -> None:
    events = views[view]
    queued = {e.call_id: e.campaign_id for e in events if isinstance(e, CallQueued)}
    connected = {e.call_id: e.agent_id for e in events if isinstance(e, CallConnected)}
    abandoned = {e.call_id for e in events if isinstance(e, CallAbandoned)}
    observed = [a for a in driver if a.get("what") == "call_ids"]
    assert len(observed) == len(queued) == 75
    for call in observed:
        uid = call["queue_uniqueid"]
        assert queued[uid] == call["queue"]
        assert connected.get(uid) == call["connected_agent"]
    gave_up = {a["queue_uniqueid"] for a in driver if a.get("why") == "patience_expired"}
    assert abandoned == gave_up and len(gave_up) == 6
