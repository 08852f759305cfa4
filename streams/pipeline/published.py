"""What /metrics reads: the state that has reached the changelog, decoded once per change.

A worker applies events at once but writes their state only at its next flush, and acks them
after that. Exporting applied state would let a crash take counters back: the restarted worker
restores what the changelog holds, and Prometheus reads the drop as a counter reset. So /metrics
reads only the stores, which hold delivered state, and a counter never goes backwards. Scrapes
read plain copies of the stores (taken on the event loop, a dict copy), so that decoding and
rendering can run in a thread while the loop goes on applying events.

Entries that left (streams/pipeline/retention.py) are read as gone as soon as their
partition's record counts them, and the shares of the people who left count for their teams.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Generic, TypeVar

from streams.engine.agent import AgentTrack
from streams.engine.calls import CampaignTrack
from streams.pipeline.entries import (
    Entry,
    PartitionEntry,
    load_agent,
    load_campaign,
    load_partition,
)
from streams.pipeline.metrics import Snapshot
from streams.topics import AGENT_EVENTS, CALL_EVENTS

V = TypeVar("V", Entry[AgentTrack], Entry[CampaignTrack], PartitionEntry)


class _Decoded(Generic[V]):
    """Entries decoded from bytes, kept until their bytes change."""

    def __init__(self, load: Callable[[bytes], V]) -> None:
        self._load: Callable[[bytes], V] = load
        self._cache: dict[str, tuple[bytes, V]] = {}

    def read(self, stored: Mapping[str, bytes]) -> dict[str, V]:
        cache, load = self._cache, self._load
        for gone in cache.keys() - stored.keys():
            del cache[gone]
        result = {}
        for key, data in stored.items():
            found = cache.get(key)
            if found is None or found[0] != data:
                found = cache[key] = (data, load(data))
            result[key] = found[1]
        return result


class Published:
    """Decoded views of the three stores. Not thread-safe: one scrape at a time."""

    def __init__(self) -> None:
        self._agents = _Decoded(load_agent)
        self._campaigns = _Decoded(load_campaign)
        self._partitions = _Decoded(load_partition)

    def snapshot(
        self,
        agents: Mapping[str, bytes],
        campaigns: Mapping[str, bytes],
        partitions: Mapping[str, bytes],
        owned: set[tuple[str, int]],
    ) -> Snapshot:
        """The entries of the owned (topic, partition)s among these stored bytes."""
        snapshot = Snapshot()
        leaving: dict[str, dict[str, int]] = {AGENT_EVENTS: {}, CALL_EVENTS: {}}
        for key, progress in self._partitions.read(partitions).items():
            topic, _, number = key.rpartition(":")
            if (topic, int(number)) in owned:
                snapshot.partitions.setdefault(topic, []).append(progress)
                leaving[topic].update(progress.retired.leaving)
                if progress.retired.teams:  # as one person holding every share of those who left
                    track = AgentTrack("", shares=progress.retired.teams)
                    snapshot.agents.append(Entry(int(number), track))
        snapshot.agents += [
            e
            for k, e in self._agents.read(agents).items()
            if (AGENT_EVENTS, e.partition) in owned and leaving[AGENT_EVENTS].get(k) != e.offset
        ]
        snapshot.campaigns = [
            (k, e)
            for k, e in self._campaigns.read(campaigns).items()
            if (CALL_EVENTS, e.partition) in owned and leaving[CALL_EVENTS].get(k) != e.offset
        ]
        for topic, _partition in owned:
            snapshot.owned[topic] = snapshot.owned.get(topic, 0) + 1
        return snapshot
