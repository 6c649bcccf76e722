"""The event bus properties of 60-events.md, each against the real PostgreSQL and RabbitMQ."""

import asyncio
import contextlib
import json
import uuid
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit, urlunsplit

import aio_pika
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, insert, select
from sqlalchemy.engine import make_url

from shared.bus.broker import BrokerConnection
from shared.bus.consumer import EventConsumer, EventHandlers
from shared.bus.envelope import Envelope
from shared.bus.housekeeping import bus_housekeeping
from shared.bus.outbox import Outbox
from shared.bus.relay import OutboxRelay
from shared.bus.replay import replay_dead_letters
from shared.bus.topology import (
    Topology,
    catalogue_bindings,
    delete_bus_names,
)
from shared.cli import main, resend_unroutable
from shared.clock import ManualClock, SystemClock
from shared.config import PlatformSettings
from shared.db import create_sessionmaker
from shared.events import EVENTS, OrganizationRegistered, OrganizationUpdated
from shared.jobs import JobRunner
from shared.service import ServiceDefinition, create_service_app
from shared.testing.bus import publish_messages
from shared.testing.plugin import eventually, running
from shared.testing.tcpproxy import TcpProxy
from shared.tests.conftest import (
    BusProbe,
    ConsumerBehaviour,
    OtherProbe,
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
        replayed = await replay_dead_letters(settings.amqp_url, topology)
        assert (replayed.moved, replayed.dropped) == (2, {})
        await eventually(lambda: behaviour.handled == [13])
        # The unparseable one can never apply: it returns to the DLQ, not into a loop.
        assert await eventually(lambda: _queue_depth(settings, topology.dead_letter_queue, 1))
    assert await effect_counts(engine) == {13: 1}


async def test_replay_never_sends_a_type_back_to_a_queue_without_its_handler(
    platform_settings, clean_probe_tables
):
    """The DLQ holds an event whose handler failed (fixed since), one of a type an older
    catalogue routed to the service and no handler takes (dropped, counted), and one routed to
    it whose handler is still to come (kept in the DLQ). Replayed twice: nothing bounces."""
    behaviour = ConsumerBehaviour(failing={13})
    settings = settings_with(platform_settings, bus_delivery_limit=1, bus_retry_delay_seconds=0)
    consumer = create_service_app(consumer_definition(behaviour), settings)
    topology = Topology.of("probe_consumer", settings)
    awaited = "test.bus.awaited"
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        async with running(consumer):
            await consumer.state.runtime.consumer.ready.wait()
            channel = await connection.channel()
            queue = await channel.declare_queue(topology.queue, passive=True)
            for stale in (OtherProbe.event_type, awaited):
                await queue.bind(topology.exchange, routing_key=stale)
            failing = Envelope.wrap(BusProbe(n=13), producer="t", occurred_at=SystemClock().now())
            await _publish_raw(settings, failing.model_dump_json().encode(), failing)
            for event_type in (OtherProbe.event_type, OtherProbe.event_type, awaited):
                envelope = Envelope.wrap(
                    OtherProbe(n=1), producer="t", occurred_at=SystemClock().now()
                )
                envelope.type = event_type
                message = aio_pika.Message(
                    envelope.model_dump_json().encode(),
                    type=event_type,
                    message_id=str(envelope.id),
                )
                await publish_messages(settings, [(event_type, message)])
            assert await eventually(lambda: _queue_depth(settings, topology.dead_letter_queue, 4))
            behaviour.failing.clear()

            handled = consumer_definition(behaviour).handlers.event_types
            first = await replay_dead_letters(settings.amqp_url, topology, None, handled, [awaited])
            assert first.moved == 1
            assert first.dropped == {OtherProbe.event_type: 2}
            assert first.kept == {awaited: 1}
            await eventually(lambda: behaviour.handled == [13])
            again = await replay_dead_letters(settings.amqp_url, topology, None, handled, [awaited])
            assert (again.moved, again.dropped, again.kept) == (0, {}, {awaited: 1})
            assert await _queue_depth(settings, topology.dead_letter_queue, 1) == 1
            assert await _queue_empty(settings, "probe_consumer")
    finally:
        await connection.close()
    assert await effect_counts(clean_probe_tables) == {13: 1}


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
    # A later event, sent after both relays finished: a duplicate either of them had sent
    # would be in the tap's queue ahead of it.
    await _send_one_more(engine, outbox, platform_settings, n=600)
    await eventually(lambda: 600 in tap.numbers)
    assert tap.numbers == list(range(601))  # each once, per-producer order kept


async def _send_one_more(engine, outbox: Outbox, settings: PlatformSettings, n: int) -> None:
    sessionmaker = create_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await outbox.add(session, BusProbe(n=n))
    relay = _relay(sessionmaker, outbox, settings)
    try:
        assert await relay.publish_pending() == 1
    finally:
        await relay.close()
        await relay.broker.close()


def _relay(sessionmaker, outbox: Outbox, settings: PlatformSettings, **options) -> OutboxRelay:
    return OutboxRelay(
        outbox=outbox,
        sessionmaker=sessionmaker,
        topology=Topology.of("probe_producer", settings),
        broker=BrokerConnection(settings.amqp_url, "relay"),
        clock=SystemClock(),
        **options,
    )


async def test_unroutable_event_stays_pending_holds_later_ones_and_goes_once_a_queue_is_bound(
    platform_settings, clean_probe_tables, tap
):
    """Nobody's queue is bound for `test.bus.other`: the broker returns it. It is never marked
    done; the events after it wait (order), and all go once a queue for it exists."""
    engine = clean_probe_tables
    sessionmaker = create_sessionmaker(engine)
    outbox = Outbox(producer_bus, "probe_producer", SystemClock())
    async with sessionmaker() as session, session.begin():
        await outbox.add(session, BusProbe(n=1))
        await outbox.add(session, OtherProbe(n=2))
        await outbox.add(session, BusProbe(n=3))
    returned = _unroutable_count("probe_producer", OtherProbe.event_type)
    relay = _relay(sessionmaker, outbox, settings_with(platform_settings), batch_size=10)
    connection = await aio_pika.connect(platform_settings.amqp_url)
    try:
        assert await relay.publish_pending() == 1
        assert await outbox_states(engine) == {"published": 1, "pending": 2}
        assert _unroutable_count("probe_producer", OtherProbe.event_type) == returned + 1
        async with engine.connect() as conn:
            error = await conn.scalar(
                select(producer_bus.outbox.c.last_error).where(
                    producer_bus.outbox.c.event_type == OtherProbe.event_type
                )
            )
        assert "unroutable" in error

        # Tried again after the backoff, still nowhere to go: still pending, counted again.
        async def tried_again() -> bool:
            await relay.publish_pending()
            return _unroutable_count("probe_producer", OtherProbe.event_type) == returned + 2

        await eventually(tried_again)
        assert await outbox_states(engine) == {"published": 1, "pending": 2}

        channel = await connection.channel()
        exchange = await channel.get_exchange(Topology.of("x", platform_settings).exchange)
        other = await channel.declare_queue(exclusive=True, auto_delete=True)
        await other.bind(exchange, routing_key=OtherProbe.event_type)
        assert await eventually(relay.publish_pending) == 2
        assert await outbox_states(engine) == {"published": 3}
        # Each failure closed its channel: only the one publishing now is open.
        transport = (await relay.broker.get()).transport
        assert transport is not None
        channels = transport.connection.channels
        assert len([c for c in channels.values() if c is not None]) == 1
        arrived = await eventually(lambda: other.get(fail=False))
        assert Envelope.model_validate_json(arrived.body).data == {"n": 2}
        await eventually(lambda: tap.numbers == [1, 3])
    finally:
        await connection.close()
        await relay.close()
        await relay.broker.close()


def _unroutable_count(producer: str, event_type: str) -> float:
    value = REGISTRY.get_sample_value(
        "kabinet_outbox_unroutable_total", {"producer": producer, "type": event_type}
    )
    return value or 0.0


async def _publish_raw(
    settings: PlatformSettings, body: bytes, envelope: Envelope | None, app_id: str | None = None
) -> None:
    message = aio_pika.Message(
        body=body,
        message_id=str(envelope.id) if envelope else None,
        type=BusProbe.event_type,
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        app_id=app_id,
    )
    await publish_messages(settings, [(BusProbe.event_type, message)])


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
        async def after_commit(self, numbers: list[int]) -> None:
            if dies == "after_commit_before_ack" and 40 in numbers:
                reached.set()
                await gate.wait()

        async def apply(self, envelope, payload, handler) -> bool:
            applied = await super().apply(envelope, payload, handler)
            await self.after_commit([payload.n])
            return applied

        async def apply_batch(self, items) -> list[bool]:
            # Waiting messages are committed together: 40 may be one of a batch.
            outcomes = await super().apply_batch(items)
            await self.after_commit([payload.n for _, _, payload, _ in items[: len(outcomes)]])
            return outcomes

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
        await eventually(lambda: _all_applied(engine, 100), timeout=30, interval=0.1)
        # One more event behind the in-flight ones: a repeated copy of any of them would be
        # handled before it (one producer's events are handled in order).
        sentinel = Envelope.wrap(BusProbe(n=100), producer="test", occurred_at=SystemClock().now())
        await _publish_raw(settings, sentinel.model_dump_json().encode(), sentinel)
        counts = await eventually(lambda: _all_applied(engine, 101), timeout=30, interval=0.1)
    finally:
        stop_second.set()
        await running_second
        await second_broker.close()
    assert sorted(counts) == list(range(101))
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


async def _write_probes(app, numbers: range) -> None:
    """Events 0..n-1 committed in one transaction, so the relay takes them as one batch."""
    runtime = app.state.runtime
    async with runtime.sessionmaker() as session, session.begin():
        for n in numbers:
            await runtime.outbox.add(session, BusProbe(n=n))


@pytest.mark.parametrize(
    "failure",
    ["link_cut_before_k_reaches_broker", "link_cut_after_k_reached_it", "handler_fails_k"],
)
async def test_one_producers_order_survives_a_failure_at_event_k(
    platform_settings, clean_probe_tables, failure
):
    """Thirty events in one batch; at event 12 the producer's broker link is cut (before or
    after 12 reached the broker), or the consumer's handler fails 12's first try. The consumer
    still applies 0..29 in order, each once."""
    engine = clean_probe_tables
    total, k = 30, 12
    amqp = urlsplit(platform_settings.amqp_url)
    proxy = await TcpProxy(amqp.hostname or "127.0.0.1", amqp.port or 5672).start()
    via_proxy = urlunsplit(
        amqp._replace(netloc=f"{amqp.username}:{amqp.password}@127.0.0.1:{proxy.port}")
    )
    behaviour = ConsumerBehaviour(fail_once={k} if failure == "handler_fails_k" else set())
    settings = settings_with(platform_settings, bus_retry_delay_seconds=0.05)
    producer = create_service_app(
        producer_definition(), settings.model_copy(update={"amqp_url": via_proxy})
    )
    consumer = create_service_app(consumer_definition(behaviour), settings)
    try:
        async with running(consumer), running(producer):
            await consumer.state.runtime.consumer.ready.wait()
            await producer.state.runtime.relay.ready.wait()
            if failure.startswith("link_cut"):
                proxy.cut_on(b'"n":%d}' % k, forward=failure.endswith("reached_it"))
            await _write_probes(producer, range(total))
            if failure.startswith("link_cut"):
                await eventually(lambda: proxy.cuts == 1)
                proxy.restore()
            counts = await eventually(lambda: _all_applied(engine, total), timeout=30)
    finally:
        await proxy.stop()
    assert behaviour.handled == list(range(total))
    assert counts == dict.fromkeys(range(total), 1)
    if failure == "handler_fails_k":
        assert behaviour.tries[k] == 2
    assert await outbox_states(engine) == {"published": total}


async def test_a_failing_event_holds_its_producers_later_events_a_bounded_time_and_no_one_else(
    platform_settings, clean_probe_tables
):
    """Producer A's event 100 always fails; A's 101 and 102 wait behind it, B's events do not.
    After the stall bound (not the much larger try limit) 100 is dead-lettered, A goes on."""
    settings = settings_with(
        platform_settings,
        bus_retry_delay_seconds=0.05,
        bus_max_stall_seconds=2,
        bus_delivery_limit=100,
    )
    behaviour = ConsumerBehaviour(failing={100})
    consumer = create_service_app(consumer_definition(behaviour), settings)
    topology = Topology.of("probe_consumer", settings)
    async with running(consumer):
        await consumer.state.runtime.consumer.ready.wait()
        for n in (100, 101, 102):
            await _publish_probe(settings, n, app_id="producer-a")
        for n in range(200, 220):
            await _publish_probe(settings, n, app_id="producer-b")
        await eventually(lambda: 102 in behaviour.handled, timeout=30)
        assert await _queue_depth(settings, topology.dead_letter_queue, 1) == 1
        await eventually(lambda: set(range(200, 220)) <= set(behaviour.handled))
    journal = behaviour.journal
    last_try = max(i for i, entry in enumerate(journal) if entry == ("try", 100))
    # B went by while A's failing event was still being retried...
    assert journal.index(("done", 200)) < last_try
    # ...while A's later events waited for it to be dead-lettered, then came in order.
    assert journal.index(("done", 101)) > last_try
    assert [n for n in behaviour.handled if n < 200] == [101, 102]
    assert 2 <= behaviour.tries[100] < 100


async def test_a_database_outage_delays_events_without_dead_lettering_them(
    platform_settings, clean_probe_tables
):
    """The consumer's database link is cut for longer than the stall bound: its events wait for
    the database and are then applied in order, none dead-lettered."""
    db = make_url(platform_settings.database_url)
    proxy = await TcpProxy(db.host or "127.0.0.1", db.port or 5432).start()
    settings = settings_with(
        platform_settings,
        database_url=db.set(host="127.0.0.1", port=proxy.port).render_as_string(
            hide_password=False
        ),
        bus_retry_delay_seconds=0.05,
        bus_max_stall_seconds=0.5,
        bus_delivery_limit=2,
    )
    behaviour = ConsumerBehaviour()
    consumer = create_service_app(consumer_definition(behaviour), settings)
    topology = Topology.of("probe_consumer", settings)
    try:
        async with running(consumer):
            await consumer.state.runtime.consumer.ready.wait()
            await _publish_probe(settings, 0)
            await eventually(lambda: behaviour.handled == [0])
            proxy.cut()
            for n in range(1, 6):
                await _publish_probe(settings, n)
            # Well past the stall bound: the consumer kept knocking on the closed database.
            await eventually(lambda: proxy.refused >= 8, timeout=30)
            assert await _queue_depth(settings, topology.dead_letter_queue, 0) == 0
            proxy.restore()
            await eventually(lambda: len(behaviour.handled) == 6, timeout=30)
            assert await _queue_depth(settings, topology.dead_letter_queue, 0) == 0
    finally:
        await proxy.stop()
    assert behaviour.handled == list(range(6))


async def _publish_probe(settings: PlatformSettings, n: int, app_id: str | None = None) -> None:
    envelope = Envelope.wrap(BusProbe(n=n), producer="test", occurred_at=SystemClock().now())
    await _publish_raw(settings, envelope.model_dump_json().encode(), envelope, app_id=app_id)


async def test_events_published_before_their_consumer_ever_ran_reach_it_when_it_starts(
    platform_settings,
):
    """identity runs and publishes while licensing has never started in this namespace; then
    licensing starts and receives every event meant for it, in order. Rows an earlier version
    had given up as unroutable are put back once by `resend-unroutable` and arrive too."""
    from services.identity.app import definition as identity
    from services.licensing.app import definition as licensing

    settings = settings_with(
        platform_settings, bus_namespace=f"{platform_settings.bus_namespace}late."
    )
    outbox_table = identity.bus.outbox
    registered = [_organization(i) for i in range(6)]
    seen: list[tuple[str, uuid.UUID]] = []
    handlers = EventHandlers()

    @handlers.on(OrganizationRegistered)
    async def on_registered(session, event: OrganizationRegistered, envelope) -> None:
        seen.append(("registered", event.organization_id))

    @handlers.on(OrganizationUpdated)
    async def on_updated(session, event: OrganizationUpdated, envelope) -> None:
        seen.append(("updated", event.organization_id))

    def bare(definition: ServiceDefinition, handlers: EventHandlers) -> ServiceDefinition:
        return replace(definition, startup=[], jobs=[], routers=[], handlers=handlers)

    identity_app = create_service_app(bare(identity, EventHandlers()), settings)
    licensing_app = create_service_app(bare(licensing, handlers), settings)
    try:
        async with running(identity_app):
            runtime = identity_app.state.runtime
            async with runtime.sessionmaker() as session, session.begin():
                # What an earlier version left behind: returned by the broker, given up.
                for event in registered[:2]:
                    envelope = await runtime.outbox.add(session, event)
                    await session.execute(
                        outbox_table.update()
                        .where(outbox_table.c.event_id == envelope.id)
                        .values(state="unroutable", published_at=runtime.clock.now())
                    )
            assert await resend_unroutable(settings, ["identity"]) == {"identity": 2}
            assert await resend_unroutable(settings, ["identity"]) == {"identity": 0}
            async with runtime.sessionmaker() as session, session.begin():
                for event in registered[2:]:
                    await runtime.outbox.add(session, event)
                await runtime.outbox.add(session, _renamed(registered[0]))
            ids = {e.organization_id for e in registered}
            await eventually(lambda: _all_published(runtime.sessionmaker, outbox_table, ids))
        # Nothing has consumed licensing's queue yet: the events wait there.
        queue = Topology.of("licensing", settings).queue
        assert await _queue_depth(settings, queue, len(registered) + 1)

        async with running(licensing_app):
            await eventually(lambda: len([s for s in seen if s[1] in ids]) == len(registered) + 1)
    finally:
        await delete_bus_names(settings)
    mine = [s for s in seen if s[1] in ids]
    assert mine == [
        *(("registered", e.organization_id) for e in registered),
        ("updated", registered[0].organization_id),
    ]


def _organization(i: int) -> OrganizationRegistered:
    return OrganizationRegistered(
        organization_id=uuid.uuid4(),
        customer_number=f"9{i:05d}",
        kind="legal_entity",
        legal_form="ООО",
        name=f"ООО Проба {i}",
        full_name=f"Общество с ограниченной ответственностью Проба {i}",
        country="RU",
        resident=True,
        inn="7707083893",
        kpp="773601001",
    )


def _renamed(event: OrganizationRegistered) -> OrganizationUpdated:
    return OrganizationUpdated(
        organization_id=event.organization_id,
        changes={"name": {"old": event.name, "new": "ООО Василёк"}},
        change_request_id=uuid.uuid4(),
        name="ООО Василёк",
        full_name=event.full_name,
        country="RU",
        resident=True,
        inn=event.inn,
        kpp=event.kpp,
    )


async def _all_published(sessionmaker, table, organization_ids) -> bool:
    async with sessionmaker() as session:
        states = (
            (
                await session.execute(
                    select(table.c.state).where(
                        table.c.envelope["data"]["organization_id"].astext.in_(
                            [str(i) for i in organization_ids]
                        )
                    )
                )
            )
            .scalars()
            .all()
        )
    return len(states) == len(organization_ids) + 1 and set(states) == {"published"}


async def test_declare_bus_binds_every_catalogued_type_to_each_of_its_consumers(
    platform_settings, monkeypatch
):
    settings = settings_with(
        platform_settings, bus_namespace=f"{platform_settings.bus_namespace}declared."
    )
    monkeypatch.setenv("KABINET_BUS_NAMESPACE", settings.bus_namespace)
    try:
        assert await asyncio.to_thread(main, ["declare-bus"]) == 0
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            exchange = await channel.get_exchange(Topology.of("x", settings).exchange)
            for model in EVENTS:
                # mandatory: the broker would return a type no queue is bound for.
                await exchange.publish(
                    aio_pika.Message(body=b"{}"), routing_key=model.event_type, mandatory=True
                )
            for service, types in catalogue_bindings().items():
                expected = sum(service in model.consumers for model in EVENTS)
                assert len(types) == expected
                queue = Topology.of(service, settings).queue
                assert await _queue_depth(settings, queue, expected) == expected, service
    finally:
        await delete_bus_names(settings)
