"""Applying a batch of Kafka records to the worker's state: the pipeline without Faust.

The Faust shell (`worker.py`) hands records over and writes back what this returns; everything
here is plain Python over byte stores, so it is tested without a broker and runs the same engine
as `floorpulse analyze`.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final, Protocol

from streams.codec import InvalidEvent, decode
from streams.engine import Checkin, Floor, Outcome, Params
from streams.engine.agent import AgentTrack
from streams.engine.calls import DAY_MS, CampaignTrack
from streams.events import AgentDisposition, AgentStateChanged, type_name
from streams.pipeline.entries import (
    EVENT_DELAY_BOUNDS_MS,
    Entry,
    PartitionEntry,
    dump,
    load_agent,
    load_campaign,
    load_partition,
    stored_offset,
)
from streams.pipeline.metrics import without_break_level
from streams.pipeline.retention import DEFAULT_RETENTION_DAYS, forget_quiet_teams, latest_event
from streams.pipeline.wire import dead_letter
from streams.topics import AGENT_EVENTS, CALL_EVENTS, route

LIVE_WITHIN_MS: Final = 60_000
"""A partition whose latest event is this close to the wall clock is live: ticks may run."""
TICK_LAG_MS: Final = 5_000
"""Ticks stop this far behind the wall clock, leaving room for events still in flight."""


class Received(Protocol):
    """A Kafka message as read from one partition: aiokafka's records and Faust's messages are
    taken as they are, with no copy per message."""

    @property
    def offset(self) -> int: ...
    @property
    def key(self) -> bytes | None: ...
    @property
    def value(self) -> bytes | None: ...


class Read(Received, Protocol):
    """A Kafka message that names its partition."""

    @property
    def topic(self) -> str: ...
    @property
    def partition(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka message, as tests and tools hand it over."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Effects:
    """What applying records or a tick sends: dead letters and check-ins. State changes wait
    for `Pipeline.flush`."""

    dead_letters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    checkins: list[Checkin] = field(default_factory=list)


@dataclass(slots=True)
class Writes:
    """Changed entries, by key: the partition they belong to and their bytes, to store and to
    send to that changelog partition; None for an entry that left (a tombstone)."""

    agents: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)
    campaigns: dict[str, tuple[int, bytes | None]] = field(default_factory=dict)
    partitions: dict[str, tuple[int, bytes]] = field(default_factory=dict)


def observe_delays(progress: PartitionEntry, stamps: list[int], now_ms: int) -> None:
    """Observe the delay (`now_ms` minus event time) of the events stamped `stamps`, applied
    together, as one observation each would: an event stamped ahead of the clock is counted in
    `ahead` and not observed, one more than a day behind is observed and counted in `behind`.

    The batch shares its clock, so sorting the stamps once places every event in its bucket by
    bisection: a few operations per bucket rather than per event."""
    stamps.sort()
    observed = bisect_right(stamps, now_ms)  # stamps[:observed] are at or behind the clock
    progress.ahead += len(stamps) - observed
    if not observed:
        return
    histogram = progress.delay
    counts = histogram.counts
    below = 0  # events observed in the buckets so far
    for i, bound in enumerate(EVENT_DELAY_BOUNDS_MS):
        # delay <= bound exactly when the stamp is at or after now - bound
        within = observed - bisect_left(stamps, now_ms - bound, 0, observed)
        counts[i] += within - below
        below = within
    counts[-1] += observed - below
    histogram.sum_ms += observed * now_ms - sum(stamps[:observed])
    progress.behind += bisect_left(stamps, now_ms - DAY_MS, 0, observed)


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


def partition_of(key: str) -> tuple[str, int]:
    topic, _, number = key.rpartition(":")
    return topic, int(number)


class Pipeline:
    """The worker's processing over its three stores (agents, campaigns, partitions).

    The stores hold entries as bytes (what the changelog carries) and are written by the caller
    with what `flush` returns. Decoded entries are kept, so that only what was never seen is
    decoded, and changed ones are marked until the next flush: an entity touched by many
    batches between two flushes is written once. `forget()` drops them when partitions move,
    since Faust then rebuilds the stores from the changelog. What has been quiet for longer than
    `retention_ms` leaves at a tick (`sweep`).
    """

    def __init__(
        self,
        agents: Mapping[str, bytes],
        campaigns: Mapping[str, bytes],
        partitions: Mapping[str, bytes],
        params: Params,
        future_ms: int = DAY_MS,
        fingerprint: str = "",
        retention_ms: int = DEFAULT_RETENTION_DAYS * DAY_MS,
    ) -> None:
        self.agents, self.campaigns, self.partitions = agents, campaigns, partitions
        self.future_ms = future_ms
        self.fingerprint = fingerprint
        self.retention_ms = retention_ms
        self.floor = Floor(params)
        self._agent_entries: dict[str, Entry[AgentTrack]] = {}
        self._campaign_entries: dict[str, Entry[CampaignTrack]] = {}
        self._partition_entries: dict[str, PartitionEntry] = {}
        self._changed_agents: dict[str, Entry[AgentTrack]] = {}
        self._changed_campaigns: dict[str, Entry[CampaignTrack]] = {}
        self._changed_partitions: dict[str, PartitionEntry] = {}
        self._deleted_agents: dict[str, int] = {}
        self._deleted_campaigns: dict[str, int] = {}
        """Keys of entries that left, with their partitions: deleted at the next flush."""

    @property
    def changed(self) -> bool:
        """Whether state has changed since the last flush."""
        return bool(
            self._changed_agents
            or self._changed_campaigns
            or self._changed_partitions
            or self._deleted_agents
            or self._deleted_campaigns
        )

    def forget(self) -> None:
        """Drop decoded entries: the stores are the truth after a rebalance. Flush first."""
        assert not self.changed, "forget() would lose changes: flush() first"
        self._agent_entries.clear()
        self._campaign_entries.clear()
        self._partition_entries.clear()
        self.floor.agents.clear()
        self.floor.campaigns.clear()

    def apply(self, records: Iterable[Read], now_ms: int) -> Effects:
        """Apply records of any partitions, each partition's in the order read (Faust's
        messages, a test's)."""
        by_place: dict[tuple[str, int], list[Read]] = {}
        for record in records:
            place = (record.topic, record.partition)
            found = by_place.get(place)
            if found is None:
                by_place[place] = [record]
            else:
                found.append(record)
        return self.apply_partitions(by_place.items(), now_ms)

    def apply_partitions(
        self, fetched: Iterable[tuple[tuple[str, int], Iterable[Received]]], now_ms: int
    ) -> Effects:
        """Apply, per (topic, partition), its records in offset order: a fetch as Kafka's client
        returns it, each record taken as it is (its offset, key and value are all that is read)."""
        effects = Effects()
        for (topic, partition), records in fetched:
            self._apply_partition(topic, partition, records, now_ms, effects)
        floor = self.floor
        effects.checkins = list(floor.effects)
        floor.effects.clear()
        return effects

    def _apply_partition(
        self, topic: str, partition: int, records: Iterable[Received], now_ms: int, effects: Effects
    ) -> None:
        floor = self.floor
        changed_agents, changed_campaigns = self._changed_agents, self._changed_campaigns
        pkey = partition_key(topic, partition)
        progress = self._changed_partitions.get(pkey)
        if progress is None:
            progress = self._changed_partitions[pkey] = self._partition(pkey)
        agent_topic = topic == AGENT_EVENTS
        latest_ts = progress.latest_ts
        stamps: list[int] = []
        """The times of the events applied: their delays are observed together, below."""
        for record in records:
            offset = record.offset
            first_time = offset > progress.offset
            if first_time:
                progress.offset = offset
            value = record.value
            try:
                if value is None:
                    raise InvalidEvent("json", "the message has no value")
                event = decode(value)
                if isinstance(event, (AgentStateChanged, AgentDisposition)) != agent_topic:
                    raise InvalidEvent(
                        "type",
                        f"{type_name(type(event))} belongs on {route(event)[0]}, not {topic}",
                    )
            except InvalidEvent as exc:
                self._reject(
                    topic, partition, record, progress, first_time, exc.code, str(exc), effects
                )
                continue
            ts = event.ts
            ahead = ts - now_ms
            if ahead > self.future_ms:
                # One event stamped in the year 9999 would otherwise stretch its entity's open
                # intervals to that year and push its campaign's time windows past every call.
                reason = (
                    f"future: stamped {ahead / 3_600_000:,.1f} h ahead of the worker's clock"
                    f" (it takes at most {self.future_ms / 3_600_000:g} h)"
                )
                self._reject(
                    topic, partition, record, progress, first_time, "future", reason, effects
                )
                continue
            if ts > latest_ts:
                latest_ts = ts
            entry: Entry[AgentTrack] | Entry[CampaignTrack]
            if isinstance(event, (AgentStateChanged, AgentDisposition)):
                entry = changed_agents[event.agent_id] = self._agent(event.agent_id, partition)
            else:
                entry = changed_campaigns[event.campaign_id] = self._campaign(
                    event.campaign_id, partition
                )
            if offset <= entry.offset:
                continue  # applied before a restart: the entry already holds it
            entry.offset = offset
            outcome = floor.apply(event)
            if outcome is Outcome.DUPLICATE:
                entry.duplicate += 1
                continue
            if outcome is Outcome.LATE:
                entry.late += 1
            kind = type_name(type(event))
            applied = entry.applied
            applied[kind] = applied.get(kind, 0) + 1
            stamps.append(ts)
        progress.latest_ts = latest_ts
        if stamps:
            observe_delays(progress, stamps, now_ms)

    @staticmethod
    def _reject(
        topic: str,
        partition: int,
        record: Received,
        progress: PartitionEntry,
        first_time: bool,
        code: str,
        reason: str,
        effects: Effects,
    ) -> None:
        if first_time:
            progress.invalid[code] = progress.invalid.get(code, 0) + 1
        # Sent again after a restart too: dead letters are at least once, never lost; their id
        # tells the repeats.
        wrapped = dead_letter(topic, partition, record.offset, record.key, record.value, reason)
        effects.dead_letters.append((record.key, wrapped))

    def tick(self, owned: set[tuple[str, int]], now_ms: int) -> Effects:
        """Let time pass for the entities of the live ones among these (topic, partition)s,
        after a `sweep` of them all.

        Time-driven check-ins (a long stretch opens at 90 minutes) would otherwise wait for the
        agent's next event, and a queue's oldest wait would stand still between calls. Only a
        live partition ticks, and only up to a little behind the wall clock, so replayed or old
        events are never judged by wall time.
        """
        self.sweep(owned)
        effects = Effects()
        live = {
            (topic, p)
            for topic, p in owned
            if now_ms - self._partition(partition_key(topic, p)).latest_ts <= LIVE_WITHIN_MS
        }
        if not live:
            return effects
        target = now_ms - TICK_LAG_MS
        floor = self.floor
        for agent_id, entry in list(self._agent_entries.items()):
            if (AGENT_EVENTS, entry.partition) not in live or entry.track.clock >= target:
                continue
            level = without_break_level(entry.track)
            floor.tick(agent_id, target)
            # /metrics shows written state only: a decision, or a stretch without a break
            # passing 60, 90 or 120 minutes, is worth a changelog write; a bare clock is not.
            if floor.effects or without_break_level(entry.track) != level:
                self._changed_agents[agent_id] = entry
                effects.checkins += floor.effects
                floor.effects.clear()
        for campaign_id, campaign in self._campaign_entries.items():
            queue = campaign.track.totals.queue
            if queue is not None and queue.waiting and (CALL_EVENTS, campaign.partition) in live:
                # Written, so that /metrics shows the callers' wait growing between calls.
                floor.tick_campaign(campaign_id, target)
                self._changed_campaigns[campaign_id] = campaign
        return effects

    def sweep(self, owned: set[tuple[str, int]]) -> None:
        """Let the campaigns, people and teams of these (topic, partition)s that have had no
        event for longer than the retention leave (streams/pipeline/retention.py).

        Now is the newest event time of these partitions. An entry leaves in two writes: the
        first counts it in its partition's record and marks it as leaving (it reads as gone from
        then on), a later sweep deletes it once that record has been delivered. That needs only
        what the worker does: one flush at a time, each delivered before the next begins. An
        entry changed since the last flush waits for the next sweep, so that the one the record
        marks is the one the store holds.
        """
        self._load_all()
        progress = {key: self._partition(key) for key in (partition_key(*tp) for tp in owned)}
        for key in progress:
            self._settle(key)
        horizon = max((p.latest_ts for p in progress.values()), default=0) - self.retention_ms
        if horizon <= 0:
            return
        for campaign_id, campaign in list(self._campaign_entries.items()):
            key = partition_key(CALL_EVENTS, campaign.partition)
            if (
                key in progress
                and campaign.track.clock < horizon
                and campaign_id not in self._changed_campaigns
            ):
                progress[key].retired.take(campaign_id, campaign)
                self._changed_partitions[key] = progress[key]
                del self._campaign_entries[campaign_id], self.floor.campaigns[campaign_id]
        for agent_id, agent in list(self._agent_entries.items()):
            key = partition_key(AGENT_EVENTS, agent.partition)
            if (
                key in progress
                and latest_event(agent.track) < horizon
                and agent_id not in self._changed_agents
            ):
                progress[key].retired.take(agent_id, agent)
                self._changed_partitions[key] = progress[key]
                del self._agent_entries[agent_id], self.floor.agents[agent_id]
        people = [
            (agent_id, agent)
            for agent_id, agent in self._agent_entries.items()
            if partition_key(AGENT_EVENTS, agent.partition) in progress
        ]
        retired = [(key, p) for key, p in progress.items() if p.retired.teams]
        changed = forget_quiet_teams(
            [agent.track.shares for _, agent in people] + [p.retired.teams for _, p in retired],
            horizon,
        )
        for (agent_id, agent), was_changed in zip(people, changed[: len(people)], strict=True):
            if was_changed:
                self._changed_agents[agent_id] = agent
        for (key, p), was_changed in zip(retired, changed[len(people) :], strict=True):
            if was_changed:
                self._changed_partitions[key] = p

    def _settle(self, key: str) -> None:
        """Go on with the entries that earlier sweeps marked as leaving from partition `key`,
        once the record that marks them has been delivered: delete those still stored as they
        left, and forget the marks of those deleted or back with new events."""
        leaving = self._partition(key).retired.leaving
        stored = self.partitions.get(key)
        if not leaving or stored is None:
            return
        delivered = load_partition(stored).retired.leaving
        topic, partition = partition_of(key)
        store: Mapping[str, bytes]
        entries: Mapping[str, Entry[AgentTrack] | Entry[CampaignTrack]]
        changed: Mapping[str, object]
        if topic == AGENT_EVENTS:
            store, entries, changed = self.agents, self._agent_entries, self._changed_agents
            deleted = self._deleted_agents
        else:
            store, entries, changed = (
                self.campaigns,
                self._campaign_entries,
                self._changed_campaigns,
            )
            deleted = self._deleted_campaigns
        for entry_key, offset in list(leaving.items()):
            if delivered.get(entry_key) != offset:
                continue
            back = entries.get(entry_key)
            data = store.get(entry_key)
            if back is None and data is not None and stored_offset(data) == offset:
                deleted[entry_key] = partition
            elif back is None or (back.offset != offset and entry_key not in changed):
                del leaving[entry_key]
                self._changed_partitions[key] = self._partition(key)

    def flush(self) -> Writes:
        """The entries changed since the last flush, encoded, for the stores and changelogs."""
        for progress in self._changed_partitions.values():
            progress.rules = self.fingerprint  # the rules its events were applied under
        writes = Writes(
            agents={k: (e.partition, dump(e)) for k, e in self._changed_agents.items()},
            campaigns={k: (e.partition, dump(e)) for k, e in self._changed_campaigns.items()},
            partitions={
                k: (partition_of(k)[1], dump(e)) for k, e in self._changed_partitions.items()
            },
        )
        # One that came back meanwhile is written rather than deleted.
        for key, partition in self._deleted_agents.items():
            writes.agents.setdefault(key, (partition, None))
        for key, partition in self._deleted_campaigns.items():
            writes.campaigns.setdefault(key, (partition, None))
        self._changed_agents.clear()
        self._changed_campaigns.clear()
        self._changed_partitions.clear()
        self._deleted_agents.clear()
        self._deleted_campaigns.clear()
        return writes

    def other_rules(self) -> set[str]:
        """Fingerprints of other configurations that the stored state was built under."""
        self._load_all()
        found = {entry.rules for entry in self._partition_entries.values()}
        return found - {self.fingerprint, ""}

    def _load_all(self) -> None:
        """Decode every stored entry, but those marked as leaving."""
        for key in self.partitions.keys() - self._partition_entries.keys():
            self._partition(key)
        leaving: dict[str, set[str]] = {AGENT_EVENTS: set(), CALL_EVENTS: set()}
        for key, progress in self._partition_entries.items():
            leaving[partition_of(key)[0]].update(progress.retired.leaving)
        for agent_id in self.agents.keys() - self._agent_entries.keys() - leaving[AGENT_EVENTS]:
            self._agent(agent_id, partition=-1)
        for campaign_id in (
            self.campaigns.keys() - self._campaign_entries.keys() - leaving[CALL_EVENTS]
        ):
            self._campaign(campaign_id, partition=-1)

    def _partition(self, key: str) -> PartitionEntry:
        entry = self._partition_entries.get(key)
        if entry is None:
            data = self.partitions.get(key)
            entry = PartitionEntry() if data is None else load_partition(data)
            self._partition_entries[key] = entry
        return entry

    def _agent(self, agent_id: str, partition: int) -> Entry[AgentTrack]:
        entry = self._agent_entries.get(agent_id)
        if entry is None:
            data = self.agents.get(agent_id)
            entry = Entry(partition, AgentTrack(agent_id)) if data is None else load_agent(data)
            if self._left(AGENT_EVENTS, agent_id, entry):
                entry = Entry(entry.partition, AgentTrack(agent_id), offset=entry.offset)
            self._agent_entries[agent_id] = entry
            self.floor.agents[agent_id] = entry.track
        return entry

    def _campaign(self, campaign_id: str, partition: int) -> Entry[CampaignTrack]:
        entry = self._campaign_entries.get(campaign_id)
        if entry is None:
            data = self.campaigns.get(campaign_id)
            entry = Entry(partition, CampaignTrack()) if data is None else load_campaign(data)
            if self._left(CALL_EVENTS, campaign_id, entry):
                entry = Entry(entry.partition, CampaignTrack(), offset=entry.offset)
            self._campaign_entries[campaign_id] = entry
            self.floor.campaigns[campaign_id] = entry.track
        return entry

    def _left(self, topic: str, key: str, entry: Entry[AgentTrack] | Entry[CampaignTrack]) -> bool:
        """Whether this stored entry has left: its partition's record counts it already, so an
        event for it starts afresh (from its offset: what it applied stays applied)."""
        if entry.offset < 0:
            return False
        leaving = self._partition(partition_key(topic, entry.partition)).retired.leaving
        return leaving.get(key) == entry.offset
