"""Which calls of each campaign the worker's calls store holds, in which bucket, and which
buckets a flush must write."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from streams.engine.calls import CallTrack, CampaignTrack
from streams.pipeline.entries import CallBucket, Entry, bucket_key, dump, load_bucket

CALL_BUCKETS: Final = 16


def bucket_of(call_id: str) -> int:
    return zlib.crc32(call_id.encode()) % CALL_BUCKETS


@dataclass(slots=True)
class _Campaign:
    members: list[set[str]] = field(default_factory=lambda: [set() for _ in range(CALL_BUCKETS)])
    changed: set[int] = field(default_factory=set)
    swept: int = 0
    """The campaign's `next_sweep` when its buckets were last checked for forgotten calls."""


class CallBuckets:
    """The calls side of the pipeline's stores: attaches stored calls to a campaign as it is
    first decoded, notes the calls events touch, and writes the buckets they changed."""

    def __init__(self, store: Mapping[str, bytes]) -> None:
        self.store = store
        self._stored: dict[str, list[CallBucket]] | None = None
        self._campaigns: dict[str, _Campaign] = {}

    def forget(self) -> None:
        self._stored = None
        self._campaigns.clear()

    def attach(self, campaign_id: str, track: CampaignTrack) -> None:
        """Give a campaign just decoded (or new) the calls stored for it."""
        state = self._campaigns[campaign_id] = _Campaign(swept=track.next_sweep)
        calls: dict[str, CallTrack] = {}
        for bucket in self._stored_buckets().pop(campaign_id, []):
            calls.update(bucket.calls)
            state.members[bucket.bucket] = set(bucket.calls)
        track.calls = calls

    def touched(self, campaign_id: str, call_id: str) -> None:
        state = self._campaigns[campaign_id]
        bucket = bucket_of(call_id)
        state.members[bucket].add(call_id)
        state.changed.add(bucket)

    def flush(
        self, campaigns: Mapping[str, Entry[CampaignTrack]]
    ) -> dict[str, tuple[int, bytes | None]]:
        """The changed buckets of these changed campaigns: their bytes, or None for a bucket
        left empty (a deletion)."""
        writes: dict[str, tuple[int, bytes | None]] = {}
        for campaign_id, entry in campaigns.items():
            state, calls = self._campaigns[campaign_id], entry.track.calls
            if entry.track.next_sweep != state.swept:
                # The engine swept the campaign, forgetting quiet calls: drop them here too.
                state.swept = entry.track.next_sweep
                for bucket, members in enumerate(state.members):
                    gone = [call_id for call_id in members if call_id not in calls]
                    if gone:
                        members.difference_update(gone)
                        state.changed.add(bucket)
            for bucket in state.changed:
                remembered = {c: calls[c] for c in state.members[bucket] if c in calls}
                data = dump(CallBucket(campaign_id, bucket, remembered)) if remembered else None
                writes[bucket_key(campaign_id, bucket)] = (entry.partition, data)
            state.changed.clear()
        return writes

    def _stored_buckets(self) -> dict[str, list[CallBucket]]:
        # Read once after a start or a rebalance, and handed out campaign by campaign.
        if self._stored is None:
            self._stored = {}
            for data in self.store.values():
                bucket = load_bucket(data)
                self._stored.setdefault(bucket.campaign_id, []).append(bucket)
        return self._stored
