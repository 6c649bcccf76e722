"""The event bus properties of 60-events.md, each against the real PostgreSQL and RabbitMQ."""

import asyncio
import contextlib
import json
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest
from sqlalchemy import func, insert, select

from shared.bus.broker import BrokerConnection
from shared.bus.consumer import EventConsumer
from shared.bus.envelope import Envelope
from shared.bus.housekeeping import bus_housekeeping
from shared.bus.outbox import Outbox
from shared.bus.relay import OutboxRelay
from shared.bus.replay import replay_dead_letters
from shared.bus.topology import Topology
from shared.clock import ManualClock, SystemClock
from shared.config import PlatformSettings
from shared.db import create_sessionmaker
from shared.jobs import JobRunner
from shared.service import create_service_app
from shared.testing.plugin import eventually, running
from shared.testing.tcpproxy import TcpProxy
from shared.tests.conftest import (
    BusProbe,
    ConsumerBehaviour,
    consumer_bus,
    consumer_definition,
    effect_counts,
    producer_bus,
    producer_definition,
)


def settings_with(base: PlatformSettings, **changes: object) -> PlatformSettings:
    return base.model_copy(update={"outbox_poll_seconds": 0.1, **changes})


async def outbox_states(engine) -> dict[str, int]:
    table = producer_bus.outbox
    async with engine.connect() as conn:
        rows = await conn.execute(select(table.c.state, func.count()).group_by(table.c.state))
        return dict(rows.all())


async def test_rolled_back_request_publishes_nothing_committed_one_exactly_once(
    platform_settings, clean_probe_tables, tap
):
    engine = clean_probe_tables
    behaviour = ConsumerBehaviour()
    producer = create_service_app(producer_definition(), settings_with(platform_settings))
    consumer = create_service_app(consumer_definition(behaviour), settings_with(platform_settings))
    async with running(consumer), running(producer) as client:
        await consumer.state.runtime.consumer.ready.wait()
        failed = await client.post("/probe", params={"n": 1, "fail": True})
        assert failed.status_code == 409
        ok = await client.post("/probe", params={"n": 2})
        assert ok.status_code == 201
        await eventually(lambda: 2 in behaviour.handled)
        # Give a wrongly published rolled-back event every chance to show up.
        ok3 = await client.post("/probe", params={"n": 3})
        assert ok3.status_code == 201
        await eventually(lambda: 3 in behaviour.handled)
    assert sorted(tap.numbers) == [2, 3]
    assert await effect_counts(engine) == {2: 1, 3: 1}
    assert await outbox_states(engine) == {"published": 2}
    delivered = Envelope.model_validate_json(tap.messages[0].body)
    assert tap.messages[0].message_id == str(delivered.id)
    assert tap.messages[0].type == "test.bus.probe"
    assert tap.messages[0].delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert delivered.producer == "probe_producer"


async def test_request_id_becomes_the_events_correlation_id(
    platform_settings, clean_probe_tables, tap
):
    producer = create_service_app(producer_definition(), settings_with(platform_settings))
    async with running(producer) as client:
        await client.post("/probe", params={"n": 7}, headers={"X-Request-ID": "req-42"})
        await eventually(lambda: tap.messages)
    envelope = json.loads(tap.messages[0].body)
    assert envelope["correlation_id"] == "req-42"
    assert envelope["type"] == "test.bus.probe" and envelope["version"] == 1
    assert envelope["occurred_at"].endswith("Z")


async def test_broker_outage_delays_but_loses_and_duplicates_nothing(
    platform_settings, clean_probe_tables
):
    """1,000 events produced while the producer's link to RabbitMQ is cut and restored."""
    engine = clean_probe_tables
    amqp = urlsplit(platform_settings.amqp_url)
    proxy = await TcpProxy(amqp.hostname or "127.0.0.1", amqp.port or 5672).start()
    via_proxy = urlunsplit(
        amqp._replace(netloc=f"{amqp.username}:{amqp.password}@127.0.0.1:{proxy.port}")
    )
    behaviour = ConsumerBehaviour()
    producer = create_service_app(
        producer_definition(), settings_with(platform_settings, amqp_url=via_proxy)
    )
    consumer = create_service_app(consumer_definition(behaviour), settings_with(platform_settings))
    total = 1000
    statuses: list[int] = []
    try:
        async with running(consumer), running(producer) as client:
            await consumer.state.runtime.consumer.ready.wait()

            async def produce(numbers: range) -> None:
                for n in numbers:
                    statuses.append((await client.post("/probe", params={"n": n})).status_code)

            async def produce_all() -> None:
                await asyncio.gather(*(produce(range(i, total, 10)) for i in range(10)))

            producing = asyncio.create_task(produce_all())
            await eventually(lambda: len(statuses) >= 150)
            proxy.cut()
            cut_at = len(statuses)
            await eventually(lambda: len(statuses) >= cut_at + 500)
            assert proxy.connected is False
            proxy.restore()
            await producing
            counts = await eventually(lambda: _all_applied(engine, total), timeout=60, interval=0.2)
    finally:
        await proxy.stop()
    assert statuses == [201] * total
    assert proxy.cuts == 1
    assert sorted(counts) == list(range(total))
    assert set(counts.values()) == {1}
    assert await outbox_states(engine) == {"published": total}


async def _all_applied(engine, total: int) -> dict[int, int] | None:
    counts = await effect_counts(engine)
    return counts if len(counts) == total else None


async def test_same_event_delivered_twice_has_one_effect(platform_settings, clean_probe_tables):
    engine = clean_probe_tables
    behaviour = ConsumerBehaviour()
    consumer = create_service_app(consumer_definition(behaviour), settings_with(platform_settings))
    envelope = Envelope.wrap(BusProbe(n=5), producer="test", occurred_at=SystemClock().now())
    async with running(consumer):
        await consumer.state.runtime.consumer.ready.wait()
        await _publish_raw(platform_settings, envelope.model_dump_json().encode(), envelope)
        await _publish_raw(platform_settings, envelope.model_dump_json().encode(), envelope)
        await eventually(lambda: behaviour.handled == [5])
        # A third copy after the first two were settled.
        await _publish_raw(platform_settings, envelope.model_dump_json().encode(), envelope)
        await eventually(lambda: _queue_empty(platform_settings, "probe_consumer"))
    assert behaviour.handled == [5]
    assert await effect_counts(engine) == {5: 1}


async def test_poison_messages_land_in_the_dlq_and_can_be_replayed(
    platform_settings, clean_probe_tables
):
    engine = clean_probe_tables
    behaviour = ConsumerBehaviour(failing={13})
    settings = settings_with(platform_settings, bus_delivery_limit=2, bus_retry_delay_seconds=0)
    consumer = create_service_app(consumer_definition(behaviour), settings)
    topology = Topology.of("probe_consumer", settings)
    failing = Envelope.wrap(BusProbe(n=13), producer="test", occurred_at=SystemClock().now())
    unparseable = b'{"id": "not-a-uuid", "type": "test.bus.probe"}'
    async with running(consumer):
        await consumer.state.runtime.consumer.ready.wait()
        await _publish_raw(platform_settings, failing.model_dump_json().encode(), failing)
        await _publish_raw(platform_settings, unparseable, None)
        dead = await eventually(lambda: _queue_depth(settings, topology.dead_letter_queue, 2))
        assert dead == 2
        assert await effect_counts(engine) == {}
        # The cause is fixed; the operator replays the DLQ.
        behaviour.failing.clear()
        moved = await replay_dead_letters(settings.amqp_url, topology)
        assert moved == 2
        await eventually(lambda: behaviour.handled == [13])
        # The unparseable one can never apply: it returns to the DLQ, not into a loop.
        assert await eventually(lambda: _queue_depth(settings, topology.dead_letter_queue, 1))
    assert await effect_counts(engine) == {13: 1}


async def test_two_relays_on_one_outbox_publish_each_row_once(
    platform_settings, clean_probe_tables, tap
):
    engine = clean_probe_tables
    clock = SystemClock()
    sessionmaker = create_sessionmaker(engine)
    outbox = Outbox(producer_bus, "probe_producer", clock)
    async with sessionmaker() as session, session.begin():
        for n in range(600):
            await outbox.add(session, BusProbe(n=n))
    relays = [
        OutboxRelay(
            outbox=outbox,
            sessionmaker=sessionmaker,
            topology=Topology.of("probe_producer", platform_settings),
            broker=BrokerConnection(platform_settings.amqp_url, f"relay-{i}"),
            clock=clock,
            batch_size=50,
        )
        for i in range(2)
    ]

    async def drain(relay: OutboxRelay) -> int:
        sent = 0
        for _ in range(200):
            sent += await relay.publish_pending()
            if (await outbox_states(engine)).get("pending", 0) == 0:
                break
        return sent

    try:
        sent = await asyncio.gather(*(drain(r) for r in relays))
    finally:
        for relay in relays:
            await relay.close()
            await relay.broker.close()
    assert sum(sent) == 600
    await eventually(lambda: len(tap.messages) >= 600)
    await asyncio.sleep(0.3)  # let a wrongly duplicated copy arrive, if there were one
    assert len(tap.messages) == 600
    assert tap.numbers == list(range(600))  # per-producer order kept


async def test_unroutable_event_is_marked_not_retried_forever(
    platform_settings, clean_probe_tables
):
    engine = clean_probe_tables
    clock = SystemClock()
    sessionmaker = create_sessionmaker(engine)
    outbox = Outbox(producer_bus, "probe_producer", clock)
    async with sessionmaker() as session, session.begin():
        await outbox.add(session, BusProbe(n=1))
    relay = OutboxRelay(
        outbox=outbox,
        sessionmaker=sessionmaker,
        topology=Topology.of("probe_producer", platform_settings),
        broker=BrokerConnection(platform_settings.amqp_url, "relay"),
        clock=clock,
    )
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
        await relay.broker.close()
    assert await outbox_states(engine) == {"unroutable": 1}


async def _publish_raw(settings: PlatformSettings, body: bytes, envelope: Envelope | None) -> None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange(Topology.of("x", settings).exchange)
        await exchange.publish(
            aio_pika.Message(
                body=body,
                message_id=str(envelope.id) if envelope else None,
                type=BusProbe.event_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=BusProbe.event_type,
        )


async def _queue_depth(settings: PlatformSettings, name: str, expected: int) -> int | None:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        count = queue.declaration_result.message_count
        return count if count == expected else None


async def _queue_empty(settings: PlatformSettings, service: str) -> bool:
    return await _queue_depth(settings, Topology.of(service, settings).queue, 0) == 0


@pytest.mark.parametrize("dies", ["before_commit", "after_commit_before_ack"])
async def test_a_consumer_killed_mid_event_loses_nothing_and_applies_nothing_twice(
    platform_settings, clean_probe_tables, dies
):
    """The process dies with event 40 in hand — inside the handler (effect written, not
    committed) or after the commit but before the ack. A new instance gets the in-flight
    messages again: every event applied exactly once."""
    engine = clean_probe_tables
    settings = settings_with(platform_settings)
    gate, reached = asyncio.Event(), asyncio.Event()
    behaviour = ConsumerBehaviour(held={40: gate} if dies == "before_commit" else {})
    behaviour.reached = reached
    definition = consumer_definition(behaviour)
    topology = Topology.of("probe_consumer", settings)
    sessionmaker = create_sessionmaker(engine)

    class DiesAfterCommit(EventConsumer):
        async def apply(self, envelope, payload, handler) -> bool:
            applied = await super().apply(envelope, payload, handler)
            if dies == "after_commit_before_ack" and payload.n == 40:
                reached.set()
                await gate.wait()
            return applied

    def consumer(broker: BrokerConnection) -> EventConsumer:
        return DiesAfterCommit(
            handlers=definition.handlers,
            tables=definition.bus,
            sessionmaker=sessionmaker,
            topology=topology,
            broker=broker,
            clock=SystemClock(),
        )

    first_broker = BrokerConnection(settings.amqp_url, "doomed-consumer")
    first = consumer(first_broker)
    running_first = asyncio.create_task(first.run(asyncio.Event()))
    await first.ready.wait()
    for n in range(100):
        envelope = Envelope.wrap(BusProbe(n=n), producer="test", occurred_at=SystemClock().now())
        await _publish_raw(settings, envelope.model_dump_json().encode(), envelope)
    await reached.wait()
    # Crash: the task dies where it stands and its connection drops without a goodbye.
    running_first.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running_first
    await first_broker.close()
    committed = await effect_counts(engine)
    assert (40 in committed) is (dies == "after_commit_before_ack")

    behaviour.held.clear()
    gate.set()
    second_broker = BrokerConnection(settings.amqp_url, "restarted-consumer")
    stop_second = asyncio.Event()
    running_second = asyncio.create_task(consumer(second_broker).run(stop_second))
    try:
        counts = await eventually(lambda: _all_applied(engine, 100), timeout=30, interval=0.1)
        await asyncio.sleep(0.5)  # a wrongly repeated application would land by now
        counts = await effect_counts(engine)
    finally:
        stop_second.set()
        await running_second
        await second_broker.close()
    assert sorted(counts) == list(range(100))
    assert set(counts.values()) == {1}


async def test_housekeeping_trims_old_sent_events_and_inbox_ids_but_never_pending_ones(
    platform_settings, clean_probe_tables
):
    engine = clean_probe_tables
    clock = ManualClock()
    now = clock.now()
    sessionmaker = create_sessionmaker(engine)
    outbox = producer_bus.outbox
    async with sessionmaker() as session, session.begin():
        for n, (state, age_days) in enumerate(
            [("published", 31), ("unroutable", 40), ("published", 29), ("pending", 90)]
        ):
            envelope = Envelope.wrap(BusProbe(n=n), producer="t", occurred_at=now)
            await session.execute(
                insert(outbox).values(
                    event_id=envelope.id,
                    event_type=envelope.type,
                    envelope=envelope.model_dump(mode="json"),
                    created_at=now - timedelta(days=age_days),
                    state=state,
                    published_at=None if state == "pending" else now - timedelta(days=age_days),
                )
            )
        for age_days in (31, 29):
            await session.execute(
                insert(consumer_bus.inbox).values(
                    event_id=Envelope.wrap(BusProbe(n=0), producer="t", occurred_at=now).id,
                    event_type="test.bus.probe",
                    received_at=now - timedelta(days=age_days),
                )
            )
    jobs = [bus_housekeeping(producer_bus, 30), bus_housekeeping(consumer_bus, 30)]
    for job in jobs:
        runner = JobRunner(
            service=f"probe-{id(job)}", jobs=[job], sessionmaker=sessionmaker, clock=clock
        )
        assert await runner.run_once("bus_housekeeping")
    async with engine.connect() as conn:
        left = (await conn.execute(select(outbox.c.state).order_by(outbox.c.seq))).scalars().all()
        inbox_left = (
            await conn.execute(select(func.count()).select_from(consumer_bus.inbox))
        ).scalar()
    assert left == ["published", "pending"]
    assert inbox_left == 1
