"""Faust table stores that the worker writes by partition.

The worker applies events in batches that span partitions, then writes each changed entry once,
naming the input partition it belongs to (as it does for the changelog record). Faust's own
stores take the partition of a write from the event being processed (`current_event()`), which a
batch does not have, so these add `put(partition, key, value)` (None deletes: an entry that left)
and look keys up in every partition they hold. They are registered as Faust store schemes in
pyproject.toml (`floorpulse-memory://`, `floorpulse-rocksdb://`).
"""

from __future__ import annotations

from typing import Any

from faust.stores import memory, rocksdb
from faust.types import RecordMetadata


class MemoryStore(memory.Store[str, bytes]):
    """Faust's in-memory store, rebuilt from the changelog at every start."""

    def put(self, partition: int, key: str, value: bytes | None) -> None:
        """Store `value` under `key` in `partition`; None deletes `key`."""
        if value is None:
            self.data.pop(key, None)
            self._key_partition.pop(key, None)
            return
        self.data[key] = value
        # Faust drops the keys of partitions that moved away once a rebalance's recovery ends.
        self._key_partition[key] = partition

    def delivered(self, record: RecordMetadata) -> None:
        """A changelog record of this table, stored here, reached the broker: nothing to
        keep in memory."""


class RocksStore(rocksdb.Store):
    """Faust's RocksDB store (one database per partition, under the worker's data dir), which
    also keeps the changelog offset it holds, so a restart reads only what came after it."""

    def put(self, partition: int, key: str, value: bytes | None) -> None:
        """Store `value` under `key` in `partition`'s database; None deletes `key`."""
        raw_key = self._encode_key(key)
        if value is None:
            self._db_for_partition(partition).delete(raw_key)
            self._key_index.pop(raw_key, None)
            return
        self._db_for_partition(partition).put(raw_key, self._encode_value(value))
        self._key_index[raw_key] = partition

    def delivered(self, record: RecordMetadata) -> None:
        """A changelog record of this table, stored here, reached the broker: remember its
        offset, so that a restart reads the changelog from after it."""
        self.set_persisted_offset(record.topic_partition, record.offset)

    def _get(self, key: bytes) -> bytes | None:
        # Never by the current event's partition: a batch's key may live in any of them.
        found: Any = self._get_bucket_for_key(key)
        return None if found is None else bytes(found[1])

    def _contains(self, key: bytes) -> bool:
        return self._get(key) is not None
