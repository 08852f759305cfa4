"""Applying a batch of Kafka records to the worker's state: the pipeline without Faust.

The Faust shell (`worker.py`) hands records over and writes back what this returns; everything
here is plain Python over byte stores, so it is tested without a broker and runs the same engine
as `floorpulse analyze`.
"""

from __future__ import annotations

import base64
from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec

from streams.codec import InvalidEvent, decode
from streams.engine import Checkin, Floor, Outcome, Params
from streams.engine.agent import AgentTrack
from streams.engine.calls import CampaignTrack
from streams.events import AgentDisposition, AgentStateChanged, Event, type_name
from streams.pipeline.entries import (
    Entry,
    PartitionEntry,
    dump,
    load_agent,
    load_campaign,
    load_partition,
)
from streams.topics import AGENT_EVENTS, route

LIVE_WITHIN_MS: Final = 60_000
"""A partition whose latest event is this close to the wall clock is live: ticks may run."""
TICK_LAG_MS: Final = 5_000
"""Ticks stop this far behind the wall clock, leaving room for events still in flight."""

Store = MutableMapping[str, bytes]


@dataclass(frozen=True, slots=True)
class Record:
    """One Kafka message as the worker read it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None


@dataclass(slots=True)
class Writes:
    """What a batch changed: table entries to store and to send to their changelog partition,
    dead letters, check-ins, and the event delays to observe."""

    agents: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    campaigns: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    partitions: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    dead_letters: list[tuple[bytes | None, bytes]] = field(default_factory=list)
    checkins: list[Checkin] = field(default_factory=list)
    delays_ms: dict[str, list[int]] = field(default_factory=dict)


def partition_key(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


class Pipeline:
    """The worker's processing over its three stores (agents, campaigns, partitions).

    The stores hold entries as bytes (what the changelog carries); decoded entries are kept in
    a cache so that a batch decodes only what it has not seen. `forget()` drops the cache when
    partitions move, since Faust then rebuilds the stores from the changelog.
    """

    def __init__(self, agents: Store, campaigns: Store, partitions: Store, params: Params) -> None:
        self.agents, self.campaigns, self.partitions = agents, campaigns, partitions
        self.floor = Floor(params)
        self._agent_entries: dict[str, Entry[AgentTrack]] = {}
        self._campaign_entries: dict[str, Entry[CampaignTrack]] = {}

    def forget(self) -> None:
        """Drop decoded entries: the stores are the truth after a rebalance."""
        self._agent_entries.clear()
        self._campaign_entries.clear()
        self.floor.agents.clear()
        self.floor.campaigns.clear()

    def apply(self, records: Sequence[Record], now_ms: int) -> Writes:
        writes = Writes()
        floor = self.floor
        touched_agents: dict[str, Entry[AgentTrack]] = {}
        touched_campaigns: dict[str, Entry[CampaignTrack]] = {}
        progress_by_key: dict[str, PartitionEntry] = {}
        for record in records:
            pkey = partition_key(record.topic, record.partition)
            progress = progress_by_key.get(pkey)
            if progress is None:
                progress = progress_by_key[pkey] = self._partition(pkey)
            first_time = record.offset > progress.offset
            if first_time:
                progress.offset = record.offset
            try:
                event = self._decode(record)
            except InvalidEvent as exc:
                if first_time:
                    progress.invalid[exc.code] = progress.invalid.get(exc.code, 0) + 1
                # Sent again after a restart too: dead letters are at least once, never lost.
                writes.dead_letters.append((record.key, dead_letter(record, exc)))
                continue
            if event.ts > progress.latest_ts:
                progress.latest_ts = event.ts
            entry: Entry[AgentTrack] | Entry[CampaignTrack]
            if isinstance(event, (AgentStateChanged, AgentDisposition)):
                entry = touched_agents[event.agent_id] = self._agent(
                    event.agent_id, record.partition
                )
            else:
                entry = touched_campaigns[event.campaign_id] = self._campaign(
                    event.campaign_id, record.partition
                )
            if record.offset <= entry.offset:
                continue  # applied before a restart: the entry already holds it
            entry.offset = record.offset
            outcome = floor.apply(event)
            if outcome is Outcome.DUPLICATE:
                entry.duplicate += 1
                continue
            if outcome is Outcome.LATE:
                entry.late += 1
            kind = type_name(type(event))
            entry.applied[kind] = entry.applied.get(kind, 0) + 1
            writes.delays_ms.setdefault(record.topic, []).append(now_ms - event.ts)
        writes.checkins = list(floor.effects)
        floor.effects.clear()
        writes.agents = {k: (e.partition, dump(e)) for k, e in touched_agents.items()}
        writes.campaigns = {k: (e.partition, dump(e)) for k, e in touched_campaigns.items()}
        writes.partitions = {
            k: (int(k.rpartition(":")[2]), dump(e)) for k, e in progress_by_key.items()
        }
        self._store(writes)
        return writes

    def tick(self, partitions: set[int], now_ms: int) -> Writes:
        """Let time pass for the agents of the live ones among these `dialer.agent-events`
        partitions.

        Time-driven check-ins (a long stretch opens at 90 minutes) would otherwise wait for the
        agent's next event. Only a live partition ticks, and only up to a little behind the wall
        clock, so replayed or old events are never judged by wall time.
        """
        writes = Writes()
        live = {
            p
            for p in partitions
            if now_ms - self._partition(partition_key(AGENT_EVENTS, p)).latest_ts <= LIVE_WITHIN_MS
        }
        if not live:
            return writes
        target = now_ms - TICK_LAG_MS
        floor = self.floor
        for agent_id in list(self.agents.keys()):
            entry = self._agent(agent_id, partition=-1)
            if entry.partition not in live or entry.track.clock >= target:
                continue
            floor.tick(agent_id, target)
            if floor.effects:
                # Only a decision is worth a changelog write; a bare clock moves again next tick.
                writes.agents[agent_id] = (entry.partition, dump(entry))
                writes.checkins += floor.effects
                floor.effects.clear()
        self._store(writes)
        return writes

    def _store(self, writes: Writes) -> None:
        for store, changed in (
            (self.agents, writes.agents),
            (self.campaigns, writes.campaigns),
            (self.partitions, writes.partitions),
        ):
            for key, (_partition, data) in changed.items():
                store[key] = data

    def _decode(self, record: Record) -> Event:
        if record.value is None:
            raise InvalidEvent("json", "the message has no value")
        event = decode(record.value)
        topic = route(event)[0]
        if topic != record.topic:
            raise InvalidEvent(
                "type", f"{type_name(type(event))} belongs on {topic}, not {record.topic}"
            )
        return event

    def _partition(self, key: str) -> PartitionEntry:
        data = self.partitions.get(key)
        return PartitionEntry() if data is None else load_partition(data)

    def _agent(self, agent_id: str, partition: int) -> Entry[AgentTrack]:
        entry = self._agent_entries.get(agent_id)
        if entry is None:
            data = self.agents.get(agent_id)
            entry = Entry(partition, AgentTrack(agent_id)) if data is None else load_agent(data)
            self._agent_entries[agent_id] = entry
            self.floor.agents[agent_id] = entry.track
        return entry

    def _campaign(self, campaign_id: str, partition: int) -> Entry[CampaignTrack]:
        entry = self._campaign_entries.get(campaign_id)
        if entry is None:
            data = self.campaigns.get(campaign_id)
            entry = Entry(partition, CampaignTrack()) if data is None else load_campaign(data)
            self._campaign_entries[campaign_id] = entry
            self.floor.campaigns[campaign_id] = entry.track
        return entry


def dead_letter(record: Record, error: InvalidEvent) -> bytes:
    """The contract's dead-letter wrapper: the error, where the message was, and its bytes."""
    raw = record.value or b""
    try:
        text, encoding = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        text, encoding = base64.b64encode(raw).decode("ascii"), "base64"
    key = None if record.key is None else record.key.decode("utf-8", "backslashreplace")
    return msgspec.json.encode(
        {
            "error": str(error),
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "key": key,
            "raw": text,
            "raw_encoding": encoding,
        }
    )
