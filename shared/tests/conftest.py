"""A probe producer and a probe consumer built the way every service is, for the bus tests.

The producer writes one `test.bus.probe` event per request in the request's transaction; the
consumer records each event's effect in a table with no uniqueness of its own, so a second
application of one event would show as a second row.
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import pytest
from fastapi import APIRouter, Query
from sqlalchemy import Column, Integer, MetaData, Table, Uuid, func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from shared.bus.consumer import EventHandlers
from shared.bus.envelope import Envelope, EventPayload
from shared.bus.tables import BusTables, bus_tables
from shared.bus.topology import Topology, declare_exchanges, delete_service_queues
from shared.config import PlatformSettings
from shared.db import SessionDep, create_engine, schema_metadata
from shared.idempotency import idempotency_table
from shared.problems import Conflict
from shared.service import RuntimeDep, ServiceDefinition, Tag


class BusProbe(EventPayload):
    event_type = "test.bus.probe"
    n: int


class OtherProbe(EventPayload):
    """A type the probe consumer does not handle (and no queue binds unless a test does)."""

    event_type = "test.bus.other"
    n: int


PRODUCER_SCHEMA, CONSUMER_SCHEMA = "probe_producer", "probe_consumer"

producer_metadata = schema_metadata(PRODUCER_SCHEMA)
producer_bus = bus_tables(producer_metadata)
producer_idempotency = idempotency_table(producer_metadata)

consumer_metadata = schema_metadata(CONSUMER_SCHEMA)
consumer_bus = bus_tables(consumer_metadata)
effects = Table(
    "effects",
    consumer_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("n", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
)


@dataclass
class ConsumerBehaviour:
    """What the probe consumer's handler does; tests change it to make events fail."""

    failing: set[int] = field(default_factory=set)
    # Numbers whose handler fails on its first try only.
    fail_once: set[int] = field(default_factory=set)
    handled: list[int] = field(default_factory=list)
    tries: dict[int, int] = field(default_factory=dict)
    # ("try", n) when the handler starts on n, ("done", n) when it has applied n, in order.
    journal: list[tuple[str, int]] = field(default_factory=list)
    # Numbers whose handler stops, effect written but not committed, until the event is set.
    held: dict[int, asyncio.Event] = field(default_factory=dict)
    reached: asyncio.Event = field(default_factory=asyncio.Event)


PROBES = Tag("probes", "Endpoints of the plumbing tests.")


def probe_definition(
    name: str,
    *,
    description: str,
    metadata: MetaData = producer_metadata,
    bus: BusTables = producer_bus,
    **fields: Any,
) -> ServiceDefinition:
    """A test service on the probe producer's tables (unless told others), under the probes tag."""
    return ServiceDefinition(
        name=name, description=description, tags=[PROBES], metadata=metadata, bus=bus, **fields
    )


def producer_definition() -> ServiceDefinition:
    router = APIRouter(tags=["probes"])

    @router.post("/probe", status_code=201)
    async def produce(
        session: SessionDep,
        runtime: RuntimeDep,
        n: int = Query(),
        fail: bool = False,
        crash: bool = False,
    ) -> dict[str, Any]:
        envelope = await runtime.outbox.add(session, BusProbe(n=n))
        if fail:
            raise Conflict("the business change failed after the event was staged")
        if crash:
            raise RuntimeError("an unexpected failure after the event was staged")
        return {"event_id": str(envelope.id)}

    return probe_definition(
        "probe_producer",
        description="bus test producer",
        idempotency=producer_idempotency,
        routers=[router],
    )


def consumer_definition(behaviour: ConsumerBehaviour) -> ServiceDefinition:
    handlers = EventHandlers()

    @handlers.on(BusProbe)
    async def record(session: AsyncSession, event: BusProbe, envelope: Envelope) -> None:
        behaviour.tries[event.n] = behaviour.tries.get(event.n, 0) + 1
        behaviour.journal.append(("try", event.n))
        if event.n in behaviour.failing:
            raise RuntimeError(f"probe {event.n} is set to fail")
        if event.n in behaviour.fail_once:
            behaviour.fail_once.discard(event.n)
            raise RuntimeError(f"probe {event.n} fails its first try")
        await session.execute(effects.insert().values(n=event.n, event_id=envelope.id))
        if event.n in behaviour.held:
            behaviour.reached.set()
            await behaviour.held[event.n].wait()
        behaviour.handled.append(event.n)
        behaviour.journal.append(("done", event.n))

    return probe_definition(
        "probe_consumer",
        description="bus test consumer",
        metadata=consumer_metadata,
        bus=consumer_bus,
        handlers=handlers,
    )


@pytest.fixture(scope="session")
async def probe_engine(platform_settings: PlatformSettings) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(platform_settings.database_url)
    async with engine.begin() as conn:
        for schema, metadata in (
            (PRODUCER_SCHEMA, producer_metadata),
            (CONSUMER_SCHEMA, consumer_metadata),
        ):
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()
    # The probe consumer is not one of the services the plugin cleans up after.
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        await delete_service_queues(
            await connection.channel(), Topology.of("probe_consumer", platform_settings)
        )


@pytest.fixture
async def clean_probe_tables(
    probe_engine: AsyncEngine, platform_settings: PlatformSettings
) -> AsyncEngine:
    """Empty probe tables and an empty probe consumer queue, whatever earlier tests left."""
    connection = await aio_pika.connect(platform_settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        topology = Topology.of("probe_consumer", platform_settings)
        for name in (topology.queue, topology.dead_letter_queue):
            await channel.queue_delete(name)
    async with probe_engine.begin() as conn:
        await conn.execute(
            text(
                "TRUNCATE probe_producer.outbox, probe_producer.inbox, "
                "probe_producer.idempotency_keys, "
                "probe_consumer.outbox, probe_consumer.inbox, probe_consumer.effects"
            )
        )
    return probe_engine


async def effect_counts(engine: AsyncEngine) -> dict[int, int]:
    async with engine.connect() as conn:
        rows = await conn.execute(select(effects.c.n, func.count()).group_by(effects.c.n))
        return {n: count for n, count in rows.all()}


@pytest.fixture
async def tap(platform_settings: PlatformSettings) -> AsyncIterator["Tap"]:
    """A plain queue bound to the probe type: sees every copy the broker routes."""
    tap = Tap(platform_settings)
    await tap.start()
    yield tap
    await tap.stop()


class Tap:
    def __init__(self, settings: PlatformSettings) -> None:
        self.settings = settings
        self.messages: list[aio_pika.abc.AbstractIncomingMessage] = []

    async def start(self) -> None:
        self.connection = await aio_pika.connect(self.settings.amqp_url)
        channel = await self.connection.channel()
        exchange = await declare_exchanges(channel, Topology.of("tap", self.settings))
        self.queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await self.queue.bind(exchange, routing_key=BusProbe.event_type)
        await self.queue.consume(self._on_message, no_ack=True)

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.messages.append(message)

    @property
    def numbers(self) -> list[int]:
        return [Envelope.model_validate_json(m.body).data["n"] for m in self.messages]

    async def stop(self) -> None:
        await self.connection.close()
