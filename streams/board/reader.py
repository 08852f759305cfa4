"""Reads floor.checkins into a Book with aiokafka: no group, every partition from the start."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from streams.board.checkins import Book, Checkin
from streams.kafka_config import KafkaSecurity
from streams.topics import CHECKINS


async def read(
    bootstrap: str,
    security: KafkaSecurity,
    book: Book,
    *,
    follow: bool = True,
    on_checkin: Callable[[Checkin], None] | None = None,
    ready: asyncio.Event | None = None,
) -> None:
    """Read every retained check-in into `book`; then, with `follow`, the new ones as they come.

    `ready` is set once what was on the topic at the start has been read.
    """
    from aiokafka import AIOKafkaConsumer

    consumer: Any = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **security.aiokafka(),
    )
    try:
        await consumer.start()
        partitions = await _partitions(consumer)
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends: dict[Any, int] = await consumer.end_offsets(partitions)
        caught_up = False
        while True:
            if not caught_up and await _caught_up(consumer, ends):
                caught_up = True
                if ready is not None:
                    ready.set()
                if not follow:
                    return
            batches = await consumer.getmany(timeout_ms=500)
            for messages in batches.values():
                for message in messages:
                    checkin = book.add(message.value)
                    if checkin is not None and on_checkin is not None:
                        on_checkin(checkin)
    finally:
        await consumer.stop()


async def _partitions(consumer: Any) -> list[Any]:
    from aiokafka import TopicPartition

    for _ in range(20):
        found = await consumer._client.fetch_all_metadata()
        numbers = found.partitions_for_topic(CHECKINS)
        if numbers:
            return [TopicPartition(CHECKINS, p) for p in sorted(numbers)]
        await asyncio.sleep(0.5)
    raise RuntimeError(f"the topic {CHECKINS} does not exist (run `floorpulse kafka start`)")


async def _caught_up(consumer: Any, ends: dict[Any, int]) -> bool:
    for partition, end in ends.items():
        position: int = await consumer.position(partition)
        if position < end:
            return False
    return True
