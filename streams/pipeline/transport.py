"""The worker's Kafka transport: Faust's aiokafka driver, with an idempotent producer.

Faust's producer already waits for every in-sync replica (`producer_acks=-1`, acks=all), but it
turns idempotence on only inside transactions, which the worker does not use (exactly_once has
open duplicate and crash bugs). Without it, a batch whose acknowledgement was lost when a broker
died is sent again and written twice; with it, the new leader recognises the retry by the
producer's id and sequence number and keeps one copy, as the replay and the simulator's
producers do.

The worker names this transport in its broker URLs, `floorpulse-kafka://host:port`: Faust finds
transports by URL scheme, and pyproject.toml registers this one (a `faust.transports` entry
point, as the table stores are).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from faust.transport.drivers import aiokafka as driver
from faust.types import ProducerT

SCHEME: Final = "floorpulse-kafka"


class Producer(driver.Producer):
    """Faust's aiokafka producer, idempotent with acks=all whatever the transaction state."""

    def _settings_extra(self) -> Mapping[str, Any]:
        return {**super()._settings_extra(), "acks": "all", "enable_idempotence": True}


class Transport(driver.Transport):
    """Faust's aiokafka transport with the producer above."""

    Producer: ClassVar[type[ProducerT]] = Producer
