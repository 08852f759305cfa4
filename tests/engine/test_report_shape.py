"""The shape of the offline report (report.md)."""

from __future__ import annotations

import json

from streams.analyze import analyze
from tests.engine.builders import (
    answered,
    at,
    campaign,
    connected,
    dialed,
    dispo,
    ended,
    lines,
    paused,
    ready,
    report,
    team,
    unanswered,
)

TOP_KEYS = {"report", "events", "window", "campaigns", "teams"}
EVENT_KEYS = {"lines", "valid", "invalid", "duplicate", "late"}
CAMPAIGN_KEYS = {
    "dialed",
    "answered_human",
    "answered_machine",
    "unanswered",
    "unanswered_by_outcome",
    "dropped",
    "connected",
    "late_connected",
    "abandoned",
    "abandon_ratio",
    "answer_ratio",
    "talked",
    "talk_seconds",
    "talk_seconds_mean",
    "by_day",
}
TEAM_KEYS = {
    "agents",
    "state_seconds",
    "occupancy_ratio",
    "breaks",
    "dispositions",
    "checkins",
}
EMPTY_TEAM = {
    "agents": 0,
    "state_seconds": {"ready": 0.0, "on_call": 0.0, "wrap_up": 0.0, "paused": 0.0},
    "occupancy_ratio": None,
    "breaks": {"count": 0, "seconds": 0.0, "by_reason": {}},
    "dispositions": {"positive": 0, "negative": 0, "neutral": 0},
    "checkins": {"long_stretch": 0, "high_occupancy": 0, "rejection_streak": 0, "long_shift": 0},
}


def test_empty_log() -> None:
    assert analyze([]) == {
        "report": "floorpulse/v1",
        "events": {"lines": 0, "valid": 0, "invalid": 0, "duplicate": 0, "late": 0},
        "window": {"start_ts": None, "end_ts": None},
        "campaigns": {},
        "teams": {},
    }


def test_window_is_null_when_no_event_was_applied() -> None:
    rep = analyze([b"not json\n", b"\n", b'{"v": 1}\n', b"   \n", b"[1, 2]"])
    assert rep["events"] == {"lines": 3, "valid": 0, "invalid": 3, "duplicate": 0, "late": 0}
    assert rep["window"] == {"start_ts": None, "end_ts": None}
    assert (rep["campaigns"], rep["teams"]) == ({}, {})


def test_invalid_lines_are_counted_and_change_nothing() -> None:
    good = lines([ready("a1", 0), paused("a1", 60, "lunch")])
    rep = analyze([good[0], b'{"v": 2, "type": "agent.state"}\n', good[1], b"\xff\xfe\n"])
    assert rep["events"] == {"lines": 4, "valid": 2, "invalid": 2, "duplicate": 0, "late": 0}
    assert rep == analyze(good) | {"events": rep["events"]}


def test_keys_and_types() -> None:
    rep = report(
        [
            ready("a1", 0),
            paused("a1", 10, "Lunch"),
            dispo("a1", 11, "sale"),
            dialed("c1", 0),
            answered("c1", 1),
            connected("c1", 2),
            ended("c1", 3),
            unanswered("c2", 4, "busy"),
        ]
    )
    assert set(rep) == TOP_KEYS
    assert rep["report"] == "floorpulse/v1"
    assert set(rep["events"]) == EVENT_KEYS
    assert rep["window"] == {"start_ts": at(0), "end_ts": at(11)}
    c1 = campaign(rep)
    assert set(c1) == CAMPAIGN_KEYS
    assert set(c1["by_day"]["2026-01-05"]) == {"answered_human", "abandoned", "abandon_ratio"}
    assert c1["unanswered_by_outcome"] == {"busy": 1}
    assert isinstance(c1["talk_seconds"], float)
    t1 = team(rep)
    assert set(t1) == TEAM_KEYS
    assert set(t1["breaks"]) == {"count", "seconds", "by_reason"}
    assert t1["breaks"]["by_reason"] == {"lunch": {"count": 1, "seconds": 1.0}}
    assert all(isinstance(v, float) for v in t1["state_seconds"].values())
    json.dumps(rep, allow_nan=False)  # plain JSON values only


def test_fixed_key_maps_list_every_key_and_code_maps_only_codes_that_occurred() -> None:
    rep = report([dispo("a1", 0, "whatever", team="T5"), dialed("c1", 0, campaign="C5")])
    assert team(rep, "T5") == EMPTY_TEAM | {
        "dispositions": {"positive": 0, "negative": 0, "neutral": 1}
    }
    c5 = campaign(rep, "C5")
    assert c5["unanswered_by_outcome"] == {}
    assert c5["by_day"] == {}


def test_a_team_appears_once_named_by_call_connected() -> None:
    rep = report([connected("c1", 0, team="T8", agent="nobody")])
    assert rep["teams"] == {"T8": EMPTY_TEAM}


def test_a_campaign_appears_once_any_call_event_names_it() -> None:
    rep = report([ended("c1", 0, campaign="Cx")])
    c = campaign(rep, "Cx")
    assert c["dialed"] == 0
    assert c["talked"] == 0
    assert rep["teams"] == {}


def test_agent_events_never_create_campaigns() -> None:
    rep = report([ready("a1", 0, campaign="C9"), dispo("a1", 1, "sale", campaign="C9")])
    assert rep["campaigns"] == {}


def test_ids_are_reported_as_given() -> None:
    rep = report([ready("Agent 1", 0, team="Équipe Nord"), dialed("c1", 0, campaign="Été-2026")])
    assert set(rep["teams"]) == {"Équipe Nord"}
    assert set(rep["campaigns"]) == {"Été-2026"}
