"""What the worker's tables keep per entity: the engine's track plus the pipeline's bookkeeping.

Tables hold entries as msgpack bytes, so the in-memory and RocksDB stores and the changelog all
carry the same thing, and a worker that takes a partition over decodes exactly what the old
owner wrote.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import msgspec

from streams.engine.agent import AgentTrack
from streams.engine.calls import CampaignTrack
from streams.engine.totals import Histogram, TeamShare

EVENT_DELAY_BOUNDS_MS: Final = (
    50,
    100,
    250,
    500,
    1000,
    2500,
    5000,
    10000,
    30000,
    60000,
    300000,
    3600000,
)

T = TypeVar("T", AgentTrack, CampaignTrack)


class Entry(msgspec.Struct, Generic[T]):
    """One agent or campaign, as of the input offset `offset` of its partition.

    `offset` makes applying idempotent: after a crash, Kafka redelivers what was read since the
    last commit, and an entry already written with a later offset skips it. The counts (events
    applied by type, duplicates, late) live here too, so that they are exactly as recoverable as
    the statistics they describe.
    """

    partition: int
    track: T
    offset: int = -1
    applied: dict[str, int] = msgspec.field(default_factory=dict)
    duplicate: int = 0
    late: int = 0


class Retired(msgspec.Struct):
    """What the entries that left a partition's state (streams/pipeline/retention.py) had
    counted, so that no series that stays on /metrics goes down when they leave."""

    applied: dict[str, int] = msgspec.field(default_factory=dict)
    duplicate: int = 0
    late: int = 0
    teams: dict[str, TeamShare] = msgspec.field(default_factory=dict)
    """Agent partitions: the shares of the people who left, by team, while their team stays."""
    leaving: dict[str, int] = msgspec.field(default_factory=dict)
    """Key and offset of each entry counted here that its table may still hold: that entry is
    read as gone, and deleted once this record has been delivered."""

    def take(self, key: str, entry: Entry[AgentTrack] | Entry[CampaignTrack]) -> None:
        """Count a leaving entry here, a person's shares too, and mark it as leaving."""
        for kind, count in entry.applied.items():
            self.applied[kind] = self.applied.get(kind, 0) + count
        self.duplicate += entry.duplicate
        self.late += entry.late
        if isinstance(entry.track, AgentTrack):
            for team, share in entry.track.shares.items():
                self.teams.setdefault(team, TeamShare()).add(share)
        self.leaving[key] = entry.offset


class PartitionEntry(msgspec.Struct):
    """Per input partition: invalid events by error code, how far event time has come, and how
    far behind live its events were applied."""

    offset: int = -1
    invalid: dict[str, int] = msgspec.field(default_factory=dict)
    latest_ts: int = 0
    """The largest event time seen, which says whether the partition is live (ticks)."""
    delay: Histogram = msgspec.field(default_factory=lambda: Histogram.empty(EVENT_DELAY_BOUNDS_MS))
    """Wall clock at apply minus event time, of the events applied (milliseconds). Kept with the
    state, so that it moves with the partition and a restart never takes it back."""
    ahead: int = 0
    """Events applied while stamped ahead of the worker's clock: no delay to observe."""
    behind: int = 0
    """Events applied while stamped more than a day behind the worker's clock: an old log
    replayed into a live floor, late for every person already live there."""
    rules: str = ""
    """The fingerprint of the configuration (codes, thresholds) the events were applied under."""
    retired: Retired = msgspec.field(default_factory=Retired)
    """What the entries of this partition that left had counted."""


AgentEntry = Entry[AgentTrack]
CampaignEntry = Entry[CampaignTrack]

_encoder: Final = msgspec.msgpack.Encoder()
_agent_decoder: Final = msgspec.msgpack.Decoder(Entry[AgentTrack])
_campaign_decoder: Final = msgspec.msgpack.Decoder(Entry[CampaignTrack])
_partition_decoder: Final = msgspec.msgpack.Decoder(PartitionEntry)


class _Offset(msgspec.Struct):
    offset: int = -1


_offset_decoder: Final = msgspec.msgpack.Decoder(_Offset)


def dump(entry: Entry[AgentTrack] | Entry[CampaignTrack] | PartitionEntry) -> bytes:
    return _encoder.encode(entry)


def load_agent(data: bytes) -> Entry[AgentTrack]:
    entry = _agent_decoder.decode(data)
    track = entry.track
    if not any(share.seen for share in track.shares.values()):
        # Written before shares kept the times they were named: taken as named at the person's
        # latest change of state, so that state kept across an upgrade stays until it has been
        # quiet for the retention (streams/pipeline/retention.py).
        for team, share in track.shares.items():
            named = {*share.state_ms, *share.wait}
            if team == track.team:
                named.add(track.campaign)
            share.seen = dict.fromkeys(named, track.since)
    return entry


def load_campaign(data: bytes) -> Entry[CampaignTrack]:
    return _campaign_decoder.decode(data)


def load_partition(data: bytes) -> PartitionEntry:
    return _partition_decoder.decode(data)


def stored_offset(data: bytes) -> int:
    """The offset of an agent or campaign entry, without decoding the rest of it."""
    return _offset_decoder.decode(data).offset
