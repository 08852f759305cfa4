"""Retention: what has had no event for longer than the retention (35 days of event time) leaves
the worker's state and /metrics, and no series that stays goes down."""

from __future__ import annotations

import json
from typing import Any

import pytest

from streams.engine.agent import AgentTrack
from streams.engine.totals import TeamShare
from streams.pipeline.batch import Record
from streams.pipeline.entries import Entry, dump, load_agent, load_partition
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import Samples
from tests.pipeline.test_batch import EVERY_PARTITION, Floor

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
T0 = 1_800_000_000_000
WALL = 2_000_000_000_000
"""The wall clock, years after every event here: retention never looks at it."""


class Feed:
    """Records as Kafka would hand them over: offsets counting up in each partition."""

    def __init__(self) -> None:
        self.offsets: dict[tuple[str, int], int] = {}
        self.sent: list[Record] = []

    def record(self, topic: str, partition: int, key: str, **event: Any) -> Record:
        offset = self.offsets.get((topic, partition), 0)
        self.offsets[topic, partition] = offset + 1
        event = {"v": 1, "event_id": f"{topic}-{partition}-{offset}", "source": "s", **event}
        record = Record(topic, partition, offset, key.encode(), json.dumps(event).encode())
        self.sent.append(record)
        return record

    def dialed(self, campaign: str, ts: int, partition: int) -> Record:
        return self.record(
            CALL_EVENTS, partition, campaign,
            type="call.dialed", ts=ts, call_id=f"call-{ts}", campaign_id=campaign,
        )  # fmt: skip

    def state(self, agent: str, ts: int, state: str, team: str, campaign: str) -> Record:
        return self.record(
            AGENT_EVENTS, 0, agent,
            type="agent.state", ts=ts, agent_id=agent, team_id=team, campaign_id=campaign,
            state=state,
        )  # fmt: skip

    def disposition(self, agent: str, ts: int, team: str, campaign: str) -> Record:
        return self.record(
            AGENT_EVENTS, 0, agent,
            type="agent.disposition", ts=ts, agent_id=agent, team_id=team, campaign_id=campaign,
            call_id=f"call-{ts}", disposition="sale",
        )  # fmt: skip

    def shift(self, agent: str, start: int, team: str, campaign: str) -> list[Record]:
        """An hour ready, then logged out."""
        return [
            self.state(agent, start, "ready", team, campaign),
            self.state(agent, start + HOUR_MS, "logged_out", team, campaign),
        ]


def sweep(floor: Floor) -> Samples:
    """A worker's tick, then its flush: what /metrics shows afterwards."""
    floor.pipeline.tick(EVERY_PARTITION, now_ms=WALL)
    return floor.samples()


def leaving(floor: Floor, topic: str, partition: int) -> dict[str, int]:
    return load_partition(floor.partitions[f"{topic}:{partition}"]).retired.leaving


@pytest.mark.parametrize(("quiet_days", "leaves"), [(34, False), (36, True)])
def test_a_campaign_quiet_past_the_retention_leaves_state_and_metrics(
    quiet_days: int, leaves: bool
) -> None:
    feed, floor = Feed(), Floor()
    floor.pipeline.apply([feed.dialed("old", T0, 1)], now_ms=WALL)
    assert sweep(floor).label_values("floorpulse_calls_dialed_total", "campaign") == {"old"}
    # Now is the newest event time, never the wall clock: until an event says that time has
    # passed, nothing is quiet.
    floor.pipeline.apply([feed.dialed("new", T0 + quiet_days * DAY_MS, 2)], now_ms=WALL)
    floor.pipeline.tick(EVERY_PARTITION, now_ms=WALL)
    # Before the record that counts it has been delivered, nothing is deleted.
    floor.pipeline.tick(EVERY_PARTITION, now_ms=WALL)
    samples = floor.samples()
    shown = samples.label_values("floorpulse_calls_dialed_total", "campaign")
    assert shown == ({"new"} if leaves else {"old", "new"})
    # What it counted stays counted: no counter that stays goes down.
    assert samples.total("floorpulse_events_total", topic=CALL_EVENTS) == 2
    if not leaves:
        return
    # Read as gone from the write that counts it in its partition's record; deleted once that
    # record has been delivered; the mark forgotten once the deletion has been.
    assert leaving(floor, CALL_EVENTS, 1) == {"old": 0}
    assert "old" in floor.campaigns
    sweep(floor)
    assert "old" not in floor.campaigns
    assert leaving(floor, CALL_EVENTS, 1) == {"old": 0}
    sweep(floor)
    assert leaving(floor, CALL_EVENTS, 1) == {}
    # Back with a new call: afresh, its old calls counted once.
    floor.pipeline.apply([feed.dialed("old", T0 + 37 * DAY_MS, 1)], now_ms=WALL)
    samples = sweep(floor)
    assert samples.total("floorpulse_calls_dialed_total", campaign="old") == 1
    assert samples.total("floorpulse_events_total", topic=CALL_EVENTS) == 3


def test_people_and_teams_leave_while_the_series_that_stay_keep_their_counts() -> None:
    feed, floor = Feed(), Floor()
    floor.pipeline.apply(
        [
            *feed.shift("a1", T0, "A", "C1"),  # team A: quiet
            *feed.shift("a2", T0, "B", "C1"),  # quiet, in a team that goes on
            feed.disposition("a2", T0 + 10 * 60_000, "B", "C1"),
            *feed.shift("a4", T0, "B", "C2"),  # team B's part of campaign C2: quiet
            *feed.shift("a3", T0 + 30 * DAY_MS, "B", "C1"),
        ],
        now_ms=WALL,
    )
    before = sweep(floor)
    assert before.label_values("floorpulse_agent_state_seconds_total", "team") == {"A", "B"}
    floor.pipeline.apply([feed.state("a3", T0 + 36 * DAY_MS, "ready", "B", "C1")], now_ms=WALL)
    after = sweep(floor)

    for name in ("floorpulse_agent_state_seconds_total", "floorpulse_dispositions_total"):
        assert after.label_values(name, "team") == {"B"}
    assert after.label_values("floorpulse_agent_state_seconds_total", "campaign") == {"C1"}
    for name, labels in (
        ("floorpulse_agent_state_seconds_total", {"team": "B", "campaign": "C1"}),
        ("floorpulse_dispositions_total", {"team": "B"}),
    ):
        assert after.total(name, **labels) == before.total(name, **labels) > 0, name
    events = "floorpulse_events_total"
    assert after.total(events, topic=AGENT_EVENTS) == before.total(events, topic=AGENT_EVENTS) + 1
    # a2's share of team B counts from the partition's record; the people who left go from
    # the store at the next sweep.
    assert set(floor.agents) == {"a1", "a2", "a3", "a4"}
    sweep(floor)
    assert set(floor.agents) == {"a3"}
    assert sweep(floor).values == after.values


def test_a_worker_that_dies_between_the_two_writes_counts_what_left_once() -> None:
    feed, floor = Feed(), Floor()
    floor.pipeline.apply([*feed.shift("a1", T0, "A", "C1"), feed.dialed("old", T0, 1)], now_ms=WALL)
    floor.flush()
    floor.pipeline.apply([*feed.shift("a2", T0 + 36 * DAY_MS, "B", "C1")], now_ms=WALL)
    marked = sweep(floor)  # the records that count a1 and `old` are delivered, no deletion yet
    assert marked.label_values("floorpulse_agent_state_seconds_total", "team") == {"B"}
    # A restart, and Kafka delivers again all it ever held: what left is not applied again.
    floor.restart().apply(feed.sent, now_ms=WALL)
    assert floor.samples().values == marked.values
    sweep(floor)
    sweep(floor)
    assert (set(floor.agents), set(floor.campaigns)) == ({"a2"}, set())
    assert floor.samples().values == marked.values


def test_state_written_before_shares_kept_their_times_stays_until_it_is_quiet() -> None:
    share = TeamShare(state_ms={"C1": [1000, 0, 0, 0]})
    track = AgentTrack("a1", state="ready", since=T0, team="B", campaign="C2", shares={"B": share})
    loaded = load_agent(dump(Entry(0, track)))
    assert loaded.track.shares["B"].seen == {"C1": T0, "C2": T0}
