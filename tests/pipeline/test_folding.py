"""Bounded label sets on /metrics: beyond the maximum, campaigns, queues and teams are `other`."""

from __future__ import annotations

import json

from prometheus_client import CollectorRegistry, generate_latest

from streams.pipeline.batch import Record
from streams.pipeline.metrics import FloorCollector, Limits
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import Samples
from tests.pipeline.test_batch import LATER, Floor

MINUTE = 60_000


def calls(campaigns: int) -> list[Record]:
    records = []
    for n in range(campaigns):
        campaign = f"camp-{n:03d}"
        for k, (kind, extra) in enumerate(
            (("call.queued", {}), ("call.connected", {"agent_id": "a", "team_id": "T"}))
        ):
            event = {
                "v": 1, "type": kind, "event_id": f"{n}-{k}", "ts": LATER - MINUTE + k * 30_000,
                "source": "s", "call_id": f"c{n}", "campaign_id": campaign, **extra,
            }  # fmt: skip
            records.append(
                Record(CALL_EVENTS, n % 6, 2 * n + k, campaign.encode(), json.dumps(event).encode())
            )
    return records


def agents(teams: int) -> list[Record]:
    records = []
    for n in range(teams):
        event = {
            "v": 1, "type": "agent.state", "event_id": f"s{n}", "ts": LATER - MINUTE,
            "source": "s", "agent_id": f"a{n}", "team_id": f"team-{n:03d}",
            "campaign_id": "camp-000", "state": "ready",
        }  # fmt: skip
        records.append(Record(AGENT_EVENTS, n % 6, n, f"a{n}".encode(), json.dumps(event).encode()))
    return records


def scrape(floor: Floor, limits: Limits) -> tuple[Samples, FloorCollector]:
    floor.flush()
    snapshot = floor.snapshot()
    collector = FloorCollector(lambda: snapshot, limits)
    registry = CollectorRegistry()
    registry.register(collector)
    return Samples.parse(generate_latest(registry).decode()), collector


def test_beyond_the_maximum_values_are_summed_as_other_and_counted() -> None:
    floor = Floor()
    floor.pipeline.apply(calls(12) + agents(9), now_ms=LATER)
    samples, collector = scrape(floor, Limits(campaigns=5, queues=4, teams=3))

    assert samples.label_values("floorpulse_calls_connected_total", "campaign") == {
        *(f"camp-{n:03d}" for n in range(5)),
        "other",
    }
    assert samples.total("floorpulse_calls_connected_total", campaign="other") == 7
    assert samples.total("floorpulse_calls_connected_total") == 12  # nothing lost
    assert samples.label_values("floorpulse_queue_calls_queued_total", "campaign") == {
        "camp-000", "camp-001", "camp-002", "camp-003", "other",
    }  # fmt: skip
    assert samples.total("floorpulse_queue_calls_queued_total", campaign="other") == 8
    assert samples.total("floorpulse_queue_wait_seconds_count", campaign="other") == 8
    assert samples.total("floorpulse_queue_wait_seconds_bucket", campaign="other", le="+Inf") == 8
    assert samples.label_values("floorpulse_agents", "team") == {
        "team-000", "team-001", "team-002", "other",
    }  # fmt: skip
    assert samples.total("floorpulse_agents", team="other", state="ready") == 6
    assert collector.folded == {"campaign": 7, "queue": 8, "team": 6}
    assert samples.total("floorpulse_labels_folded", kind="team") == 6


def test_within_the_maximum_nothing_is_folded() -> None:
    floor = Floor()
    floor.pipeline.apply(calls(3) + agents(3), now_ms=LATER)
    samples, collector = scrape(floor, Limits())
    assert "other" not in samples.label_values("floorpulse_calls_connected_total", "campaign")
    assert collector.folded == {"campaign": 0, "queue": 0, "team": 0}
