"""The pacing advice on /metrics, through the pipeline without Faust: a simulated floor applied to
byte stores as a worker applies it, then scraped."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from producers.floor import HOUR, FloorConfig
from producers.simulator import simulate
from streams.codec import encode
from streams.engine import Floor
from streams.engine.pacing import advise, campaign_inputs, state_ms, wrap_per_talk
from streams.pipeline.metrics import FloorCollector, Limits, Snapshot
from streams.topics import AGENT_EVENTS, CALL_EVENTS
from tests.integration.live import Samples
from tests.pipeline.test_batch import EVERY_PARTITION, LATER, records_of, samples_of
from tests.pipeline.test_batch import Floor as Stores

ADVICE = (
    "floorpulse_pacing_advice_lines_per_agent",
    "floorpulse_pacing_advice_abandon_ratio",
    "floorpulse_pacing_advice_occupancy_ratio",
)
CAMPAIGNS = {"campaign-01", "campaign-02"}


def day(tmp: Path) -> tuple[Path, Floor]:
    """Three hours of the simulated floor, as a log and as the engine folds it."""
    config = FloorConfig(agents=40, teams=4, campaigns=2, duration_ms=3 * HOUR)
    events = list(simulate(config, random.Random(3)))
    log = tmp / "floor.jsonl"
    log.write_bytes(b"".join(encode(event) + b"\n" for event in events))
    floor = Floor()
    for event in events:
        floor.apply(event)
    return log, floor


@pytest.fixture(scope="module")
def floor(tmp_path_factory: pytest.TempPathFactory) -> tuple[Stores, Floor]:
    log, engine = day(tmp_path_factory.mktemp("pacing"))
    stores = Stores()
    stores.pipeline.apply(records_of(log), now_ms=LATER)
    stores.flush()
    return stores, engine


def test_every_outbound_campaign_has_an_advice(floor: tuple[Stores, Floor]) -> None:
    samples = floor[0].samples()
    for name in ADVICE:
        assert samples.label_values(name, "campaign") == CAMPAIGNS, name
    for campaign in CAMPAIGNS:
        lines = samples.total(ADVICE[0], campaign=campaign)
        assert 1 < lines < 5
        assert 0 < samples.total(ADVICE[1], campaign=campaign) <= 0.02
        assert 0.5 < samples.total(ADVICE[2], campaign=campaign) <= 0.85
        limits = {
            kind: samples.total("floorpulse_pacing_advice_limit", campaign=campaign, kind=kind)
            for kind in ("abandon", "occupancy")
        }
        assert sorted(limits.values()) == [0, 1]


def test_the_metric_is_the_engines_advice_of_the_last_hour(floor: tuple[Stores, Floor]) -> None:
    stores, engine = floor
    samples = stores.samples()
    wraps = wrap_per_talk(state_ms(engine.agents.values()))
    for campaign in CAMPAIGNS:
        track = engine.campaigns[campaign]
        inputs = campaign_inputs(track.totals, track.clock, wraps[campaign])
        assert inputs is not None
        advice = advise(inputs)
        assert advice is not None
        # /metrics takes the inputs in steps of 1%, so that steady scrapes reuse the advice.
        shown = samples.total(ADVICE[0], campaign=campaign)
        assert shown == pytest.approx(advice.lines_per_agent, rel=0.02)


def test_a_worker_with_a_share_of_the_people_gives_the_same_advice(
    floor: tuple[Stores, Floor],
) -> None:
    # Wrap-up per second of talk is a ratio: a share of the people estimates it.
    stores = floor[0]
    whole = stores.samples()
    share = {(CALL_EVENTS, p) for p in range(6)} | {(AGENT_EVENTS, p) for p in (0, 1, 2)}
    part = stores.samples(share)
    for campaign in CAMPAIGNS:
        assert part.total(ADVICE[0], campaign=campaign) == pytest.approx(
            whole.total(ADVICE[0], campaign=campaign), rel=0.05
        )


def test_no_people_no_advice_and_each_worker_advises_its_own_campaigns(
    floor: tuple[Stores, Floor],
) -> None:
    stores = floor[0]
    calls_only = {(CALL_EVENTS, p) for p in range(6)}
    assert not stores.samples(calls_only).label_values(ADVICE[0], "campaign")
    owned = {key for key in EVERY_PARTITION if key[0] == AGENT_EVENTS}
    snapshot = stores.snapshot(owned | {(CALL_EVENTS, p) for p in range(3)})
    advised = samples_of(snapshot).label_values(ADVICE[0], "campaign")
    assert advised == {name for name, _ in snapshot.campaigns} & CAMPAIGNS


def test_a_campaign_folded_into_other_has_no_advice(floor: tuple[Stores, Floor]) -> None:
    snapshot = floor[0].snapshot()
    samples = scrape(snapshot, Limits(campaigns=1))
    assert samples.label_values(ADVICE[0], "campaign") == {"campaign-01"}
    assert "other" in samples.label_values("floorpulse_calls_dialed_total", "campaign")


def test_the_advice_names_no_person(floor: tuple[Stores, Floor]) -> None:
    samples = floor[0].samples()
    for (name, labels), _value in samples.values.items():
        if name.startswith("floorpulse_pacing_"):
            assert {label for label, _ in labels} <= {"campaign", "kind"}


def scrape(snapshot: Snapshot, limits: Limits) -> Samples:
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry()
    registry.register(FloorCollector(lambda: snapshot, limits))
    return Samples.parse(generate_latest(registry).decode())
