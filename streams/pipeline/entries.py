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
from streams.engine.totals import Histogram

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


AgentEntry = Entry[AgentTrack]
CampaignEntry = Entry[CampaignTrack]

_encoder: Final = msgspec.msgpack.Encoder()
_agent_decoder: Final = msgspec.msgpack.Decoder(Entry[AgentTrack])
_campaign_decoder: Final = msgspec.msgpack.Decoder(Entry[CampaignTrack])
_partition_decoder: Final = msgspec.msgpack.Decoder(PartitionEntry)


def dump(entry: Entry[AgentTrack] | Entry[CampaignTrack] | PartitionEntry) -> bytes:
    return _encoder.encode(entry)


def load_agent(data: bytes) -> Entry[AgentTrack]:
    return _agent_decoder.decode(data)


def load_campaign(data: bytes) -> Entry[CampaignTrack]:
    return _campaign_decoder.decode(data)


def load_partition(data: bytes) -> PartitionEntry:
    return _partition_decoder.decode(data)
