"""Exchange, queue and dead-letter names and their declaration (idempotent, run by every start)."""

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from shared.config import PlatformSettings

EVENTS_EXCHANGE = "kabinet.events"
DEAD_LETTER_EXCHANGE = "kabinet.dlx"


@dataclass(frozen=True)
class Topology:
    """The broker names one service uses, with the run's namespace applied."""

    service: str
    namespace: str
    delivery_limit: int

    @classmethod
    def of(cls, service: str, settings: PlatformSettings) -> "Topology":
        return cls(service, settings.bus_namespace, settings.bus_delivery_limit)

    @property
    def exchange(self) -> str:
        return self.namespace + EVENTS_EXCHANGE

    @property
    def dead_letter_exchange(self) -> str:
        return self.namespace + DEAD_LETTER_EXCHANGE

    @property
    def queue(self) -> str:
        return f"{self.namespace}{self.service}.events"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"


async def declare_exchanges(channel: AbstractChannel, topology: Topology) -> AbstractExchange:
    exchange = await channel.declare_exchange(
        topology.exchange, aio_pika.ExchangeType.TOPIC, durable=True
    )
    await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    return exchange


async def declare_service_queue(
    channel: AbstractChannel, topology: Topology, event_types: Iterable[str]
) -> AbstractQueue:
    """The service's quorum queue bound to the types it handles, with its dead-letter queue."""
    exchange = await declare_exchanges(channel, topology)
    dlq = await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    # Dead letters keep one routing key per service, so each service's DLQ gets only its own.
    await dlq.bind(topology.dead_letter_exchange, routing_key=topology.service)
    queue = await channel.declare_queue(
        topology.queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": topology.service,
            "x-delivery-limit": topology.delivery_limit,
        },
    )
    for event_type in sorted(set(event_types)):
        await queue.bind(exchange, routing_key=event_type)
    return queue


async def delete_service_queues(channel: AbstractChannel, topology: Topology) -> None:
    await channel.queue_delete(topology.queue)
    await channel.queue_delete(topology.dead_letter_queue)


async def delete_exchanges(channel: AbstractChannel, topology: Topology) -> None:
    await channel.exchange_delete(topology.exchange)
    await channel.exchange_delete(topology.dead_letter_exchange)
