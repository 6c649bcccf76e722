"""Exchange, queue and dead-letter names and their declaration (idempotent, run by every start).

The queues and bindings come from the event catalogue (`shared/events`, each type's
`consumers`), so whichever process starts first creates every consumer's queue and an event
published before its consumer ever ran waits in that consumer's queue.

Only the operator's declaration (`declare-bus`, `migrate`: the version being deployed) also
removes the bindings the catalogue no longer has. A process start only adds: during a rolling
deployment a process of the older version may still (re)connect, and an older catalogue must
never unbind a route a newer one added (events of that type would then miss that service
silently, since another consumer's queue still takes them and `mandatory` does not fire).
"""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import cache

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue

from shared.config import SERVICES, PlatformSettings
from shared.events import EVENTS, RETIRED_EVENT_TYPES

EVENTS_EXCHANGE = "kabinet.events"
DEAD_LETTER_EXCHANGE = "kabinet.dlx"
# Deliveries of a message that kills its consumer every time, before the quorum queue
# dead-letters it. A constant, never a setting: every process declares every queue, a redeclare
# with other arguments is refused (PRECONDITION_FAILED closes the channel), so two processes
# configured differently would each break the other's declaration. A failing handler's tries
# are KABINET_BUS_DELIVERY_LIMIT, counted in the consumer's process (docs/events.md).
CRASH_DELIVERY_LIMIT = 5


@dataclass(frozen=True)
class Topology:
    """The broker names one service uses, with the run's namespace applied."""

    service: str
    namespace: str

    @classmethod
    def of(cls, service: str, settings: PlatformSettings) -> "Topology":
        return cls(service, settings.bus_namespace)

    def of_service(self, service: str) -> "Topology":
        """The same namespace and limits, for another service's queue."""
        return replace(self, service=service)

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


@cache
def catalogue_bindings() -> dict[str, tuple[str, ...]]:
    """Each service and the event types the catalogue names it a consumer of."""
    bindings: dict[str, list[str]] = {service: [] for service in SERVICES}
    for model in EVENTS:
        for consumer in model.consumers:
            bindings.setdefault(consumer, []).append(model.event_type)
    return {service: tuple(sorted(types)) for service, types in bindings.items()}


def unrouted_types(service: str, event_types: Iterable[str] = ()) -> tuple[str, ...]:
    """The routing keys pruning unbinds from the service's queue: every type of the catalogue,
    and every type it retired, that the catalogue does not route to the service (nor is in
    `event_types`). Unbinding a binding that does not exist is a no-op for RabbitMQ."""
    known = {model.event_type for model in EVENTS} | set(RETIRED_EVENT_TYPES)
    kept = {*catalogue_bindings().get(service, ()), *event_types}
    return tuple(sorted(known - kept))


async def declare_catalogue(
    channel: AbstractChannel,
    topology: Topology,
    services: Iterable[str] | None = None,
    *,
    prune: bool = False,
) -> AbstractExchange:
    """Every consuming service's queue and bindings (or those of `services`), in the topology's
    namespace; with `prune`, minus the bindings the catalogue no longer has."""
    for service in catalogue_bindings() if services is None else services:
        await declare_service_queue(channel, topology.of_service(service), prune=prune)
    return await declare_exchanges(channel, topology)


async def declare_service_queue(
    channel: AbstractChannel,
    topology: Topology,
    event_types: Iterable[str] = (),
    *,
    prune: bool = False,
) -> AbstractQueue:
    """The service's quorum queue with its dead-letter queue, bound to the types the catalogue
    routes to it and to `event_types` (what it handles); with `prune`, unbound from every other
    type the catalogue knows (`unrouted_types`)."""
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
            "x-delivery-limit": CRASH_DELIVERY_LIMIT,
        },
    )
    catalogued = catalogue_bindings().get(topology.service, ())
    for event_type in sorted({*catalogued, *event_types}):
        await queue.bind(exchange, routing_key=event_type)
    if prune:
        for event_type in unrouted_types(topology.service, event_types):
            await queue.unbind(exchange, routing_key=event_type)
    return queue


async def delete_service_queues(channel: AbstractChannel, topology: Topology) -> None:
    await channel.queue_delete(topology.queue)
    await channel.queue_delete(topology.dead_letter_queue)


async def delete_exchanges(channel: AbstractChannel, topology: Topology) -> None:
    await channel.exchange_delete(topology.exchange)
    await channel.exchange_delete(topology.dead_letter_exchange)


async def delete_bus_names(settings: PlatformSettings) -> None:
    """Removes every service's queues and the exchanges of the settings' bus namespace."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        for service in SERVICES:
            await delete_service_queues(channel, Topology.of(service, settings))
        await delete_exchanges(channel, Topology.of("any", settings))
