"""The worker's Prometheus metrics (metrics.md), read from one snapshot of owned state per scrape.

No label names a person: agents are summed into their team and campaign. Counters come from the
entries in the tables, so a restarted or rebalanced worker exports exactly what its partitions
hold, and a partition that moved away stops being exported at once.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from streams.engine.agent import KIND_INDEX, AgentTrack
from streams.engine.calls import DAY_MS, HOUR_MS, PHASES, CampaignTrack
from streams.engine.pacing import (
    DEFAULT_LIMITS,
    Limit,
    PaceInputs,
    PacingAdvice,
    PacingLimits,
    advise,
    campaign_inputs,
    state_ms,
    wrap_per_talk,
)
from streams.engine.totals import (
    BREAK_BOUNDS_S,
    CHECKIN_KINDS,
    DISPOSITION_CLASSES,
    QUEUE_WAIT_BOUNDS_S,
    TALK_BOUNDS_S,
    WAIT_BOUNDS_S,
    WORK_STATES,
    Histogram,
)
from streams.pipeline.entries import EVENT_DELAY_BOUNDS_MS, Entry, PartitionEntry
from streams.pipeline.folding import fold, kept
from streams.topics import AGENT_EVENTS, CALL_EVENTS

PREFIX: Final = "floorpulse_"
WITHOUT_BREAK: Final = (("60m", 3_600_000), ("90m", 5_400_000), ("120m", 7_200_000))
EVENT_DELAY_BOUNDS_S: Final[tuple[float, ...]] = tuple(ms / 1000 for ms in EVENT_DELAY_BOUNDS_MS)


@dataclass
class Snapshot:
    """The entries of the partitions a worker owns, read at one moment."""

    agents: list[Entry[AgentTrack]] = field(default_factory=list)
    campaigns: list[tuple[str, Entry[CampaignTrack]]] = field(default_factory=list)
    """Campaign id and entry."""
    partitions: dict[str, list[PartitionEntry]] = field(default_factory=dict)
    """Per input topic."""
    owned: dict[str, int] = field(default_factory=dict)
    """How many partitions of each input topic this worker owns now."""


@dataclass(frozen=True)
class Limits:
    """How many campaigns, queues and teams /metrics names; the rest are summed as `other`."""

    campaigns: int = 1000
    queues: int = 1000
    teams: int = 1000


class FloorCollector(Collector):
    """Yields every floorpulse metric from the snapshot `read` returns at scrape time."""

    def __init__(
        self,
        read: Callable[[], Snapshot],
        limits: Limits = Limits(),
        pacing: PacingLimits = DEFAULT_LIMITS,
    ) -> None:
        self.read = read
        self.limits = limits
        self.pacing = pacing
        """The limits of the pacing advice (engine/pacing.py)."""
        self.folded: dict[str, int] = {}
        """How many values of each kind the last scrape folded into `other`."""

    def collect(self) -> Iterator[Metric]:
        snapshot = self.read()
        limits = self.limits
        named = {name for name, _ in snapshot.campaigns}
        teams_named: set[str] = set()
        for entry in snapshot.agents:
            track = entry.track
            # Someone logged out counts only through their shares, whose quiet parts leave
            # (streams/pipeline/retention.py); so does the entry of those who left.
            if track.state != "logged_out":
                named.add(track.campaign)
                teams_named.add(track.team)
            teams_named.update(track.shares)
            for share in track.shares.values():
                named.update(share.state_ms, share.wait)
        campaigns, folded_campaigns = kept(named, limits.campaigns)
        queues, folded_queues = kept(
            (name for name, e in snapshot.campaigns if e.track.totals.queue), limits.queues
        )
        teams, folded_teams = kept(teams_named, limits.teams)
        yield from fold(campaign_metrics(snapshot.campaigns), "campaign", campaigns)
        yield from fold(queue_metrics(snapshot.campaigns), "campaign", queues)
        yield from pacing_metrics(snapshot, campaigns, self.pacing)
        yield from fold(fold(agent_metrics(snapshot.agents), "team", teams), "campaign", campaigns)
        yield from pipeline_metrics(snapshot)
        self.folded = {"campaign": folded_campaigns, "queue": folded_queues, "team": folded_teams}
        folded = GaugeMetricFamily(
            PREFIX + "labels_folded",
            "Campaigns, queues or teams beyond this worker's maximum, shown together as `other`.",
            labels=["kind"],
        )
        for kind, count in self.folded.items():
            folded.add_metric([kind], count)
        yield folded


def campaign_metrics(entries: Iterable[tuple[str, Entry[CampaignTrack]]]) -> Iterator[Metric]:
    c = ["campaign"]
    dialed = CounterMetricFamily(PREFIX + "calls_dialed", "Calls the dialer placed.", labels=c)
    answered = CounterMetricFamily(
        PREFIX + "calls_answered",
        "Calls answered, by a person or a machine (with implied answers).",
        labels=[*c, "answered_by"],
    )
    unanswered = CounterMetricFamily(
        PREFIX + "calls_unanswered", "Calls nobody answered, by outcome.", labels=[*c, "outcome"]
    )
    dropped = CounterMetricFamily(
        PREFIX + "calls_dropped", "Answered calls released with no agent.", labels=c
    )
    connected = CounterMetricFamily(
        PREFIX + "calls_connected", "Calls bridged to an agent.", labels=c
    )
    abandoned = CounterMetricFamily(
        PREFIX + "calls_abandoned",
        "Drops plus connects later than two seconds after a person answered.",
        labels=c,
    )
    talk = HistogramMetricFamily(
        PREFIX + "call_talk_seconds", "Talk time of connected calls that ended.", labels=c
    )
    active = GaugeMetricFamily(
        PREFIX + "calls_active",
        "Dialer calls now dialing or waiting for an agent, and calls now talking.",
        labels=[*c, "phase"],
    )
    ratio = GaugeMetricFamily(
        PREFIX + "campaign_abandon_ratio",
        "Abandoned per call answered by a person, over the last 24 hour or 30 day buckets.",
        labels=[*c, "window"],
    )
    for name, entry in sorted(entries, key=lambda pair: pair[0]):
        t, clock = entry.track.totals, entry.track.clock
        dialed.add_metric([name], t.dialed)
        answered.add_metric([name, "human"], t.answered_human)
        answered.add_metric([name, "machine"], t.answered_machine)
        for outcome, count in sorted(t.unanswered_by_outcome.items()):
            unanswered.add_metric([name, outcome], count)
        dropped.add_metric([name], t.dropped)
        connected.add_metric([name], t.connected)
        abandoned.add_metric([name], t.abandoned)
        _add_histogram(talk, [name], t.talk, TALK_BOUNDS_S)
        for phase, count in zip(PHASES, t.active, strict=True):
            active.add_metric([name, phase], count)
        for window, buckets, width in (("24h", t.by_hour, 24), ("30d", t.by_day, 30)):
            newest = clock // (HOUR_MS if window == "24h" else DAY_MS)
            recent = [b for when, b in buckets.items() if when > newest - width]
            humans = sum(b.answered_human for b in recent)
            if humans:
                ratio.add_metric([name, window], sum(b.abandoned for b in recent) / humans)
    yield from (dialed, answered, unanswered, dropped, connected, abandoned, talk, active, ratio)


PACING_KINDS: Final = (Limit.ABANDON, Limit.OCCUPANCY)


def pacing_metrics(
    snapshot: Snapshot, keep: frozenset[str], limits: PacingLimits = DEFAULT_LIMITS
) -> Iterator[Metric]:
    """The pacing advice (engine/pacing.py) of each outbound campaign with enough calls in its
    last hour, for the campaigns named on their own (`keep`): an advice is no sum, so the
    campaigns folded into `other` have none.

    People working and talk come from the campaign's calls, which this worker owns; wrap-up per
    second of talk from the people whose events it owns (all of them with one worker, a share
    of them otherwise: wrap-up is a ratio, and any share of a campaign's people estimates it;
    the whole floor's when it owns none of the campaign's). Without any people, no advice.

        floorpulse_pacing_advice_lines_per_agent{campaign="c1"} 2.26
        floorpulse_pacing_advice_abandon_ratio{campaign="c1"} 0.02
        floorpulse_pacing_advice_occupancy_ratio{campaign="c1"} 0.834
        floorpulse_pacing_advice_limit{campaign="c1",kind="abandon"} 1.0
        floorpulse_pacing_advice_limit{campaign="c1",kind="occupancy"} 0.0
    """
    c = ["campaign"]
    lines = GaugeMetricFamily(
        PREFIX + "pacing_advice_lines_per_agent",
        "Advised lines ringing per person ready: the most that keep abandoned calls under the"
        " target and leave people room to breathe between calls.",
        labels=c,
    )
    abandon = GaugeMetricFamily(
        PREFIX + "pacing_advice_abandon_ratio",
        "Abandoned per call answered by a person, as expected at the advised pace.",
        labels=c,
    )
    occupancy = GaugeMetricFamily(
        PREFIX + "pacing_advice_occupancy_ratio",
        "Share of working time on calls and wrap-up, as expected at the advised pace.",
        labels=c,
    )
    limit = GaugeMetricFamily(
        PREFIX + "pacing_advice_limit",
        "1 for the limit that set the advised pace (abandoned calls or occupancy), else 0.",
        labels=[*c, "kind"],
    )
    by_campaign = state_ms(entry.track for entry in snapshot.agents)
    wraps = wrap_per_talk(by_campaign)
    floor = wrap_per_talk({"": [sum(ms[i] for ms in by_campaign.values()) for i in range(4)]})
    for name, entry in sorted(snapshot.campaigns, key=lambda pair: pair[0]):
        wrap = wraps.get(name, floor.get(""))
        if name not in keep or wrap is None:
            continue
        track = entry.track
        inputs = campaign_inputs(track.totals, track.clock, wrap)
        advice = None if inputs is None else _advise(*_rounded(inputs), limits)
        if advice is None:
            continue
        lines.add_metric([name], advice.lines_per_agent)
        abandon.add_metric([name], advice.abandon_ratio)
        occupancy.add_metric([name], advice.occupancy_ratio)
        for kind in PACING_KINDS:
            limit.add_metric([name, kind.value], float(advice.limit is kind))
    yield from (lines, abandon, occupancy, limit)


PACING_STEP: Final = math.log(1.01)
"""Pacing inputs are taken in steps of 1%: scrapes of a steady floor then reuse the advice."""


def _rounded(inputs: PaceInputs) -> tuple[float, float, float, float]:
    def step(value: float) -> float:
        return math.exp(round(math.log(value) / PACING_STEP) * PACING_STEP)

    i = inputs
    return step(i.people), step(i.answer_ratio), step(i.ring_seconds), step(i.handle_seconds)


@lru_cache(maxsize=4096)
def _advise(
    people: float, answers: float, ring: float, handle: float, limits: PacingLimits
) -> PacingAdvice | None:
    return advise(PaceInputs(people, answers, ring, handle), limits)


def queue_metrics(entries: Iterable[tuple[str, Entry[CampaignTrack]]]) -> Iterator[Metric]:
    """Inbound queues (revision 1.1), for the campaigns that have had an inbound call. Every
    number is the queue's and its callers': none is a person's."""
    c = ["campaign"]
    queued = CounterMetricFamily(
        PREFIX + "queue_calls_queued", "Callers who entered the queue.", labels=c
    )
    outcomes = CounterMetricFamily(
        PREFIX + "queue_calls",
        "Queued calls with an outcome: answered, abandoned, or abandoned within seconds.",
        labels=[*c, "outcome"],
    )
    wait = HistogramMetricFamily(
        PREFIX + "queue_wait_seconds", "How long answered callers waited in the queue.", labels=c
    )
    within = CounterMetricFamily(
        PREFIX + "queue_answered_within_sl",
        "Queued calls answered within the service level (20 s unless configured).",
        labels=c,
    )
    waiting = GaugeMetricFamily(
        PREFIX + "queue_calls_waiting", "Callers waiting in the queue now.", labels=c
    )
    oldest = GaugeMetricFamily(
        PREFIX + "queue_oldest_wait_seconds",
        "How long the caller waiting longest has waited so far; 0 when nobody waits.",
        labels=c,
    )
    for name, entry in sorted(entries, key=lambda pair: pair[0]):
        track = entry.track
        queue = track.totals.queue
        if queue is None:
            continue
        queued.add_metric([name], queue.queued)
        outcomes.add_metric([name, "answered"], queue.answered)
        outcomes.add_metric([name, "abandoned"], queue.abandoned)
        outcomes.add_metric([name, "abandoned_short"], queue.abandoned_short)
        _add_histogram(wait, [name], queue.wait, QUEUE_WAIT_BOUNDS_S)
        within.add_metric([name], queue.answered_within_sl)
        waiting.add_metric([name], queue.waiting)
        since = track.oldest_queued_ts()
        oldest.add_metric([name], 0 if since is None else (track.now - since) / 1000)
    yield from (queued, outcomes, wait, within, waiting, oldest)


def agent_metrics(entries: Iterable[Entry[AgentTrack]]) -> Iterator[Metric]:
    tc = ["team", "campaign"]
    present: Counter[tuple[str, str, str]] = Counter()
    paused: Counter[tuple[str, str]] = Counter()
    open_now: Counter[tuple[str, str]] = Counter()
    without_break: Counter[tuple[str, str]] = Counter()
    state_ms: defaultdict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    waits: dict[tuple[str, str], Histogram] = {}
    breaks: dict[tuple[str, str], Histogram] = {}
    dispositions: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    opened: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    teams_now: set[tuple[str, str]] = set()
    for entry in entries:
        track = entry.track
        if track.state != "logged_out":
            present[track.team, track.campaign, track.state] += 1
            teams_now.add((track.team, track.campaign))
            if track.state == "paused":
                paused[track.team, track.reason] += 1
            elif track.span_start:
                for label, limit in WITHOUT_BREAK:
                    if track.clock - track.span_start > limit:
                        without_break[track.team, label] += 1
        for kind, checkin in track.open.items():
            open_now[checkin.team, kind] += 1
        for team, share in track.shares.items():
            for campaign, by_state in share.state_ms.items():
                total = state_ms[team, campaign]
                for i, value in enumerate(by_state):
                    total[i] += value
            for campaign, histogram in share.wait.items():
                _sum_into(waits, (team, campaign), histogram, WAIT_BOUNDS_S)
            for reason, histogram in share.breaks.items():
                _sum_into(breaks, (team, reason), histogram, BREAK_BOUNDS_S)
            d, k = dispositions[team], opened[team]
            for i, value in enumerate(share.dispositions):
                d[i] += value
            for i, value in enumerate(share.checkins):
                k[i] += value

    agents = GaugeMetricFamily(
        PREFIX + "agents", "Agents now in each state.", labels=[*tc, "state"]
    )
    for team, campaign in sorted(teams_now):
        for state in WORK_STATES:
            agents.add_metric([team, campaign, state], present[team, campaign, state])
    agents_paused = GaugeMetricFamily(
        PREFIX + "agents_paused", "Agents now paused, by reason.", labels=["team", "reason"]
    )
    for (team, reason), count in sorted(paused.items()):
        agents_paused.add_metric([team, reason], count)
    seconds = CounterMetricFamily(
        PREFIX + "agent_state_seconds",
        "Seconds of closed intervals, by state.",
        labels=[*tc, "state"],
    )
    for (team, campaign), values in sorted(state_ms.items()):
        for state, value in zip(WORK_STATES, values, strict=True):
            seconds.add_metric([team, campaign, state], value / 1000)
    wait = HistogramMetricFamily(
        PREFIX + "agent_wait_seconds",
        "Ready time that ended in a call: the breathing room between calls.",
        labels=tc,
    )
    for labels, histogram in sorted(waits.items()):
        _add_histogram(wait, list(labels), histogram, WAIT_BOUNDS_S)
    break_seconds = HistogramMetricFamily(
        PREFIX + "break_seconds", "Closed pauses, by reason.", labels=["team", "reason"]
    )
    for labels, histogram in sorted(breaks.items()):
        _add_histogram(break_seconds, list(labels), histogram, BREAK_BOUNDS_S)
    disposition_total = CounterMetricFamily(
        PREFIX + "dispositions", "Dispositions recorded, by class.", labels=["team", "class"]
    )
    opened_total = CounterMetricFamily(
        PREFIX + "checkins_opened",
        "Check-ins suggested to team leads, by kind: care, never fault.",
        labels=["team", "kind"],
    )
    for team in sorted(dispositions):
        for cls, value in zip(DISPOSITION_CLASSES, dispositions[team], strict=True):
            disposition_total.add_metric([team, cls], value)
        for kind, value in zip(CHECKIN_KINDS, opened[team], strict=True):
            opened_total.add_metric([team, kind], value)
    open_gauge = GaugeMetricFamily(
        PREFIX + "checkins_open", "Check-ins open now, by kind.", labels=["team", "kind"]
    )
    for team in sorted(opened):
        for kind in KIND_INDEX:
            open_gauge.add_metric([team, kind], open_now[team, kind])
    no_break = GaugeMetricFamily(
        PREFIX + "agents_without_break",
        "Working agents whose stretch without a real break has lasted longer than this.",
        labels=["team", "longer_than"],
    )
    for team in sorted({team for team, _ in teams_now}):
        for label, _limit in WITHOUT_BREAK:
            no_break.add_metric([team, label], without_break[team, label])
    yield from (
        agents,
        agents_paused,
        seconds,
        wait,
        break_seconds,
        disposition_total,
        opened_total,
        open_gauge,
        no_break,
    )


def without_break_level(track: AgentTrack) -> int:
    """How many of the WITHOUT_BREAK limits a working agent's span has passed."""
    if track.state in ("logged_out", "paused") or not track.span_start:
        return 0
    stretch = track.clock - track.span_start
    return sum(stretch > limit for _label, limit in WITHOUT_BREAK)


def pipeline_metrics(snapshot: Snapshot) -> Iterator[Metric]:
    events = CounterMetricFamily(
        PREFIX + "events", "Valid events applied.", labels=["topic", "type"]
    )
    invalid = CounterMetricFamily(
        PREFIX + "events_invalid",
        "Events sent to the dead-letter topic, by error.",
        labels=["topic", "error"],
    )
    duplicate = CounterMetricFamily(
        PREFIX + "events_duplicate", "Duplicate events ignored.", labels=["topic"]
    )
    late = CounterMetricFamily(
        PREFIX + "events_late", "Late events applied at their entity's time.", labels=["topic"]
    )
    delay = HistogramMetricFamily(
        PREFIX + "event_delay_seconds",
        "Wall-clock processing time minus event time: how far behind live the worker runs.",
        labels=["topic"],
    )
    ahead = CounterMetricFamily(
        PREFIX + "events_ahead",
        "Events applied while stamped ahead of the worker's clock (no delay observed).",
        labels=["topic"],
    )
    behind = CounterMetricFamily(
        PREFIX + "events_behind",
        "Events applied while stamped more than a day behind the worker's clock: an old log"
        " replayed into a live floor.",
        labels=["topic"],
    )
    owned_by_topic: tuple[tuple[str, list[Entry[AgentTrack]] | list[Entry[CampaignTrack]]], ...]
    owned_by_topic = (
        (AGENT_EVENTS, snapshot.agents),
        (CALL_EVENTS, [entry for _, entry in snapshot.campaigns]),
    )
    for topic, owned in owned_by_topic:
        if not snapshot.owned.get(topic):
            # A worker that owns none of the topic (or is restoring it) says nothing of it: a
            # zero would read as a counter reset beside what another worker exported.
            continue
        applied: Counter[str] = Counter()
        duplicates = lates = 0
        for entry in owned:
            applied.update(entry.applied)
            duplicates += entry.duplicate
            lates += entry.late
        for progress in snapshot.partitions.get(topic, []):
            retired = progress.retired  # what the entries that left had counted
            applied.update(retired.applied)
            duplicates += retired.duplicate
            lates += retired.late
        for kind, count in sorted(applied.items()):
            events.add_metric([topic, kind], count)
        duplicate.add_metric([topic], duplicates)
        late.add_metric([topic], lates)
        errors: Counter[str] = Counter()
        delays = Histogram.empty(EVENT_DELAY_BOUNDS_S)
        ahead_count = behind_count = 0
        for progress in snapshot.partitions.get(topic, []):
            errors.update(progress.invalid)
            delays.add(progress.delay)
            ahead_count += progress.ahead
            behind_count += progress.behind
        _add_histogram(delay, [topic], delays, EVENT_DELAY_BOUNDS_S)
        ahead.add_metric([topic], ahead_count)
        behind.add_metric([topic], behind_count)
        for error, count in sorted(errors.items()):
            invalid.add_metric([topic, error], count)
    partitions_owned = GaugeMetricFamily(
        PREFIX + "partitions_owned",
        "Input partitions this worker owns now (diagnostic: how the workers share the floor).",
        labels=["topic"],
    )
    for topic in (AGENT_EVENTS, CALL_EVENTS):
        partitions_owned.add_metric([topic], snapshot.owned.get(topic, 0))
    yield from (events, invalid, duplicate, late, delay, ahead, behind, partitions_owned)


def _sum_into(
    into: dict[tuple[str, str], Histogram],
    key: tuple[str, str],
    histogram: Histogram,
    bounds_s: tuple[int, ...],
) -> None:
    found = into.get(key)
    if found is None:
        found = into[key] = Histogram.empty(bounds_s)
    found.add(histogram)


def _add_histogram(
    family: HistogramMetricFamily, labels: list[str], h: Histogram, bounds_s: tuple[float, ...]
) -> None:
    cumulative, buckets = 0, []
    for bound, count in zip((*(str(float(b)) for b in bounds_s), "+Inf"), h.counts, strict=True):
        cumulative += count
        buckets.append((bound, cumulative))
    family.add_metric(labels, buckets, h.sum_ms / 1000)
