"""Inbound queue statistics (stats.md, "Inbound queue statistics", revision 1.1): every edge."""

from __future__ import annotations

from typing import Any

import pytest

from streams.engine import Params
from tests.engine.builders import (
    abandoned,
    answered,
    campaign,
    connected,
    dialed,
    dropped,
    ended,
    fold,
    queued,
    report,
    unanswered,
)

NO_CALLS: dict[str, Any] = {
    "dialed": 0,
    "answered_human": 0,
    "answered_machine": 0,
    "unanswered": 0,
    "unanswered_by_outcome": {},
    "dropped": 0,
    "connected": 0,
    "late_connected": 0,
    "abandoned": 0,
    "abandon_ratio": None,
    "answer_ratio": None,
}


def inbound(events: list[Any], params: Params | None = None) -> dict[str, Any]:
    result: dict[str, Any] = campaign(report(events, params))["inbound"]
    return result


def test_an_answered_and_an_abandoned_call() -> None:
    rep = report(
        [
            queued("c1", 0),
            connected("c1", 12),
            ended("c1", 72),
            queued("c2", 1),
            abandoned("c2", 31),
        ]
    )
    c = campaign(rep)
    assert {key: c[key] for key in NO_CALLS} == NO_CALLS | {"connected": 1}
    assert (c["talked"], c["talk_seconds"]) == (1, 60.0)
    assert c["by_day"] == {}
    assert c["inbound"] == {
        "queued": 2,
        "answered": 1,
        "abandoned": 1,
        "abandoned_short": 0,
        "answered_within_sl": 1,
        "answered_wait_seconds": 12.0,
        "asa_seconds": 12.0,
        "service_level_ratio": 0.5,
        "queue_abandon_ratio": 0.5,
    }


@pytest.mark.parametrize(("wait_s", "within"), [(20.0, 1), (20.001, 0), (19.999, 1)])
def test_the_service_level_is_a_wait_of_at_most_20_s(wait_s: float, within: int) -> None:
    q = inbound([queued("c1", 100), connected("c1", 100 + wait_s)])
    assert (q["answered"], q["answered_within_sl"]) == (1, within)
    assert q["answered_wait_seconds"] == pytest.approx(wait_s)
    assert q["service_level_ratio"] == within


@pytest.mark.parametrize(("wait_s", "short"), [(4.999, 1), (5.0, 0), (0.0, 1)])
def test_short_abandons_are_under_5_s_and_left_out_of_the_ratios(wait_s: float, short: int) -> None:
    q = inbound([queued("c1", 100), abandoned("c1", 100 + wait_s), queued("c2", 100)])
    assert (q["abandoned_short"], q["abandoned"]) == (short, 1 - short)
    expected_ratio = None if short else 1.0
    assert q["queue_abandon_ratio"] == expected_ratio
    assert q["service_level_ratio"] == (None if short else 0.0)


def test_ended_while_waiting_is_an_abandon_whatever_its_disposition() -> None:
    q = inbound([queued("c1", 0), ended("c1", 40, disposition="sale")])
    assert (q["abandoned"], q["answered"]) == (1, 0)


def test_a_call_still_waiting_counts_only_in_queued() -> None:
    q = inbound([queued("c1", 0), queued("c2", 5), connected("c2", 10)])
    assert q == {
        "queued": 2,
        "answered": 1,
        "abandoned": 0,
        "abandoned_short": 0,
        "answered_within_sl": 1,
        "answered_wait_seconds": 5.0,
        "asa_seconds": 5.0,
        "service_level_ratio": 1.0,
        "queue_abandon_ratio": 0.0,
    }


def test_a_repeated_queued_counts_once_and_the_wait_runs_from_the_first() -> None:
    q = inbound([queued("c1", 0), queued("c1", 15), connected("c1", 25)])
    assert (q["queued"], q["answered_within_sl"], q["answered_wait_seconds"]) == (1, 0, 25.0)


def test_a_late_abandon_is_clamped_so_no_wait_is_negative() -> None:
    events = [queued("c1", 10), queued("c1", 18), abandoned("c1", 2)]
    rep = report(events)
    q = campaign(rep)["inbound"]
    # Applied at 18 s, the call's latest time: a wait of 8 s, not a short abandon.
    assert (q["abandoned"], q["abandoned_short"]) == (1, 0)
    assert rep["events"]["late"] == 1


def test_a_late_connect_is_answered_at_its_clamped_time() -> None:
    q = inbound([queued("c1", 10), queued("c1", 40), connected("c1", 12)])
    assert (q["answered"], q["answered_within_sl"], q["answered_wait_seconds"]) == (1, 0, 30.0)


def test_later_events_never_change_an_outcome() -> None:
    rep = report(
        [
            queued("c1", 0),
            abandoned("c1", 30),
            connected("c1", 35),  # a connect after the abandon: still an abandoned call
            ended("c1", 95),
            queued("c2", 0),
            connected("c2", 3),
            abandoned("c2", 50),  # an abandon after the answer changes nothing
            ended("c2", 60),
        ]
    )
    c = campaign(rep)
    q = c["inbound"]
    assert (q["answered"], q["abandoned"], q["abandoned_short"]) == (1, 1, 0)
    assert q["answered_wait_seconds"] == 3.0
    # Talk time counts for both connected calls, like any call's.
    assert (c["connected"], c["talked"], c["talk_seconds"]) == (2, 2, 117.0)


def test_inbound_calls_get_no_implied_answer_and_no_late_connect() -> None:
    c = campaign(report([queued("c1", 0), connected("c1", 30), ended("c1", 90)]))
    assert (c["answered_human"], c["late_connected"], c["abandoned"]) == (0, 0, 0)
    c = campaign(report([queued("c1", 0), answered("c1", 1), connected("c1", 30)]))
    assert (c["answered_human"], c["late_connected"], c["abandoned"]) == (1, 0, 0)
    assert c["by_day"] == {
        "2026-01-05": {"answered_human": 1, "abandoned": 0, "abandon_ratio": 0.0}
    }


def test_dialer_events_for_an_inbound_call_count_as_written() -> None:
    c = campaign(report([queued("c1", 0), dialed("c1", 1), dropped("c1", 2), ended("c1", 3)]))
    assert (c["dialed"], c["dropped"], c["abandoned"], c["answered_human"]) == (1, 1, 1, 0)
    # A drop decides no queue outcome; the `call.ended` after it does.
    assert (c["inbound"]["abandoned_short"], c["inbound"]["queued"]) == (1, 1)


def test_a_call_that_begins_with_dialed_is_outbound_even_when_queued_later() -> None:
    c = campaign(
        report(
            [
                dialed("c1", 0),
                answered("c1", 10),
                queued("c1", 11),
                connected("c1", 15),  # 5 s after the answer: late, as for any outbound call
                abandoned("c1", 16),
                ended("c1", 20),
            ]
        )
    )
    assert "inbound" not in c
    assert (c["late_connected"], c["abandoned"], c["answered_human"]) == (1, 1, 1)


def test_a_campaign_without_inbound_calls_has_no_inbound_object() -> None:
    c = campaign(report([dialed("c1", 0), unanswered("c1", 10), abandoned("c2x", 11)]))
    assert "inbound" not in c


def test_the_queue_belongs_to_the_campaign_of_the_queued_event() -> None:
    rep = report([queued("c1", 0, campaign="help"), dialed("c9", 0, campaign="sales")])
    assert campaign(rep, "help")["inbound"]["queued"] == 1
    assert "inbound" not in campaign(rep, "sales")


def test_duplicates_of_queue_events_change_nothing() -> None:
    first = queued("c1", 0, event_id="q1")
    rep = report(
        [first, first, abandoned("c1", 30, event_id="x1"), abandoned("c1", 30, event_id="x1")]
    )
    assert rep["events"]["duplicate"] == 2
    assert campaign(rep)["inbound"]["abandoned"] == 1


def test_parameters_move_the_thresholds() -> None:
    params = Params(service_level_ms=10_000, short_abandon_ms=2_000)
    q = inbound(
        [
            queued("c1", 0),
            connected("c1", 15),  # within 20 s, not within 10 s
            queued("c2", 0),
            abandoned("c2", 3),  # short under 5 s, not under 2 s
        ],
        params,
    )
    assert (q["answered_within_sl"], q["abandoned_short"], q["abandoned"]) == (0, 0, 1)


def test_callers_waiting_and_calls_active_live() -> None:
    floor = fold(
        [
            queued("c1", 0),
            queued("c2", 10),
            queued("c3", 20),
            connected("c3", 25),
            dialed("o1", 30),
        ]
    )
    track = floor.campaigns["C1"]
    assert track.totals.queue is not None
    assert track.totals.queue.waiting == 2
    assert track.oldest_queued_ts() == queued("c1", 0).ts
    # Inbound calls are talking once connected; waiting callers are the queue's, not `waiting`.
    assert track.totals.active == [1, 0, 1]
    floor.apply(abandoned("c1", 40))
    assert track.oldest_queued_ts() == queued("c2", 10).ts
    floor.apply(ended("c2", 41))
    assert (track.totals.queue.waiting, track.oldest_queued_ts()) == (0, None)


def test_ticks_move_the_queue_clock_without_an_event() -> None:
    floor = fold([queued("c1", 0)])
    track = floor.campaigns["C1"]
    floor.tick_campaign("C1", track.clock + 30_000)
    assert track.now - track.clock == 30_000
    floor.tick_campaign("C1", track.clock + 10_000)  # never back
    assert track.now - track.clock == 30_000
    floor.apply(connected("c1", 40))
    assert track.now == track.clock


def test_a_caller_lost_for_twelve_hours_no_longer_waits() -> None:
    floor = fold([queued("c1", 0), dialed("o1", 12 * 3600 + 1)])
    queue = floor.campaigns["C1"].totals.queue
    assert queue is not None
    assert (queue.waiting, queue.queued) == (0, 1)
