"""What the worker's tables keep per entity: the engine's track plus the pipeline's bookkeeping.

Tables hold entries as msgpack bytes, so the in-memory and RocksDB stores and the changelog all
carry the same thing, and a worker that takes a partition over decodes exactly what the old
owner wrote.
"""

from __future__ import annotations

from typing import Final, Generic, TypeVar

import msgspec

from streams.engine.agent import AgentTrack
from streams.engine.calls import CallTrack, CampaignTrack

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


class CallBucket(msgspec.Struct, array_like=True):
    """Some of the calls a campaign remembers: those whose id hashes to `bucket`.

    A campaign's entry leaves its calls out and they are stored in a few buckets, so that a
    write carries the buckets a batch touched rather than every call of the campaign, in a few
    messages rather than one per call (each costs Faust the same, whatever its size)."""

    campaign_id: str
    bucket: int
    calls: dict[str, CallTrack]


def bucket_key(campaign_id: str, bucket: int) -> str:
    """A call bucket's table key: unambiguous whatever characters the campaign id holds."""
    return _encoder_json.encode((campaign_id, bucket)).decode()


class PartitionEntry(msgspec.Struct):
    """Per input partition: invalid events by error code, and how far event time has come."""

    offset: int = -1
    invalid: dict[str, int] = msgspec.field(default_factory=dict)
    latest_ts: int = 0
    """The largest event time seen, which says whether the partition is live (ticks)."""


AgentEntry = Entry[AgentTrack]
CampaignEntry = Entry[CampaignTrack]

_encoder: Final = msgspec.msgpack.Encoder()
_encoder_json: Final = msgspec.json.Encoder()
_bucket_decoder: Final = msgspec.msgpack.Decoder(CallBucket)
_agent_decoder: Final = msgspec.msgpack.Decoder(Entry[AgentTrack])
_campaign_decoder: Final = msgspec.msgpack.Decoder(Entry[CampaignTrack])
_partition_decoder: Final = msgspec.msgpack.Decoder(PartitionEntry)


def dump(entry: Entry[AgentTrack] | Entry[CampaignTrack] | CallBucket | PartitionEntry) -> bytes:
    return _encoder.encode(entry)


def dump_campaign(entry: Entry[CampaignTrack]) -> bytes:
    """A campaign's entry without its calls (they have entries of their own)."""
    track = msgspec.structs.replace(entry.track, calls={})
    return _encoder.encode(msgspec.structs.replace(entry, track=track))


def load_bucket(data: bytes) -> CallBucket:
    return _bucket_decoder.decode(data)


def load_agent(data: bytes) -> Entry[AgentTrack]:
    return _agent_decoder.decode(data)


def load_campaign(data: bytes) -> Entry[CampaignTrack]:
    return _campaign_decoder.decode(data)


def load_partition(data: bytes) -> PartitionEntry:
    return _partition_decoder.decode(data)
