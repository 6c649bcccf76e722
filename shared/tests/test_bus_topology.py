"""Declaring the topology on a broker that ran another version: stale bindings, queue arguments.

Against the real RabbitMQ, each test in a namespace of its own (removed at the end).
"""

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace

import aio_pika
import aiormq.exceptions
import pytest
from aio_pika.abc import AbstractChannel

from shared.bus.consumer import EventHandlers
from shared.bus.topology import Topology, delete_bus_names, unrouted_types
from shared.cli import main
from shared.config import PlatformSettings
from shared.events import (
    EVENTS,
    InvoicePaid,
    OrganizationRegistered,
    ProtectionActivated,
    ProtectionLapsed,
)
from shared.service import ServiceDefinition, create_service_app
from shared.testing.bus import envelope_message, publish_envelopes
from shared.testing.events import sample
from shared.testing.plugin import eventually, running

# A type an older catalogue had and this one retired (its model is gone).
RETIRED = "dongle.protection.paused"


@pytest.fixture
async def settings(platform_settings, monkeypatch, request) -> AsyncIterator[PlatformSettings]:
    """The run's settings in a namespace of the test's own, exported for the CLI."""
    namespace = f"{platform_settings.bus_namespace}{request.node.name[:40]}."
    monkeypatch.setenv("KABINET_BUS_NAMESPACE", namespace)
    yield platform_settings.model_copy(
        update={"bus_namespace": namespace, "outbox_poll_seconds": 0.1}
    )
    await delete_bus_names(platform_settings.model_copy(update={"bus_namespace": namespace}))


async def declare_bus() -> None:
    assert await asyncio.to_thread(main, ["declare-bus"]) == 0


async def bind_by_hand(channel: AbstractChannel, settings: PlatformSettings, service: str, *keys):
    """What an older version's declaration left: bindings this catalogue does not have."""
    topology = Topology.of(service, settings)
    queue = await channel.declare_queue(topology.queue, passive=True)
    for key in keys:
        await queue.bind(topology.exchange, routing_key=key)


async def depth(channel: AbstractChannel, name: str) -> int:
    queue = await channel.declare_queue(name, passive=True)
    return queue.declaration_result.message_count or 0


async def types_in(channel: AbstractChannel, name: str) -> list[str | None]:
    """Takes every message out of the queue and returns their types, in order."""
    queue = await channel.declare_queue(name, passive=True)
    found: list[str | None] = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        found.append(message.type)
    return found


def bare(definition: ServiceDefinition, handlers: EventHandlers) -> ServiceDefinition:
    """The service's bus plumbing (consumer, relay) with `handlers`, nothing else."""
    return replace(definition, startup=[], jobs=[], routers=[], handlers=handlers)


def recording(seen: list[str]) -> EventHandlers:
    handlers = EventHandlers()

    @handlers.on(OrganizationRegistered)
    async def on_registered(session, event: OrganizationRegistered, envelope) -> None:
        seen.append(envelope.type)

    return handlers


def test_pruning_unbinds_every_type_the_catalogue_knows_but_does_not_route_to_the_service(
    monkeypatch,
):
    monkeypatch.setattr("shared.bus.topology.RETIRED_EVENT_TYPES", (RETIRED,))
    routed_to_licensing = {m.event_type for m in EVENTS if "licensing" in m.consumers}
    unrouted = set(unrouted_types("licensing"))
    assert unrouted.isdisjoint(routed_to_licensing)
    assert unrouted | routed_to_licensing == {m.event_type for m in EVENTS} | {RETIRED}
    assert ProtectionActivated.event_type in unrouted
    # What a consumer handles is kept even if a test service's type is not in the catalogue.
    assert "test.bus.probe" not in unrouted_types("probe", ["test.bus.probe"])


async def test_unbinding_what_was_never_bound_is_harmless_in_rabbitmq(settings):
    await declare_bus()
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        topology = Topology.of("licensing", settings)
        queue = await channel.declare_queue(topology.queue, passive=True)
        await queue.unbind(topology.exchange, routing_key="never.bound.anywhere")
        await queue.unbind(topology.exchange, routing_key=ProtectionActivated.event_type)
        await queue.unbind(topology.exchange, routing_key=ProtectionActivated.event_type)
        assert not channel.is_closed
        # Twice in a row: the second declaration unbinds only what is already gone.
        await declare_bus()


async def test_declare_bus_removes_bindings_the_catalogue_no_longer_has(settings, monkeypatch):
    """An older version bound `dongle.protection.*` (and a type since retired) to licensing and
    `licensing.invoice.paid` to helpdesk. After `declare-bus` those types no longer reach these
    queues (so nothing more is dead-lettered as unhandled), while routed types still do."""
    monkeypatch.setattr("shared.bus.topology.RETIRED_EVENT_TYPES", (RETIRED,))
    await declare_bus()
    licensing, helpdesk = Topology.of("licensing", settings), Topology.of("helpdesk", settings)
    stale = (ProtectionActivated.event_type, ProtectionLapsed.event_type, RETIRED)
    activated, lapsed = sample(ProtectionActivated), sample(ProtectionLapsed)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await bind_by_hand(channel, settings, "licensing", *stale)
        await bind_by_hand(channel, settings, "helpdesk", InvoicePaid.event_type)
        # The stale bindings deliver, as they did on the older broker.
        await publish_envelopes(settings, _envelope(activated))
        assert await types_in(channel, licensing.queue) == [ProtectionActivated.event_type]
        await types_in(channel, helpdesk.queue)

        await declare_bus()

        retired = aio_pika.Message(b"{}", type=RETIRED)
        await _publish_mandatory(
            settings,
            (ProtectionActivated.event_type, envelope_message(_envelope(activated))),
            (ProtectionLapsed.event_type, envelope_message(_envelope(lapsed))),
            (RETIRED, retired),
            (InvoicePaid.event_type, envelope_message(_envelope(sample(InvoicePaid)))),
            *_routed(sample(OrganizationRegistered)),
        )
        assert await types_in(channel, licensing.queue) == [OrganizationRegistered.event_type]
        assert await types_in(channel, helpdesk.queue) == [
            ProtectionActivated.event_type,
            ProtectionLapsed.event_type,
            OrganizationRegistered.event_type,
        ]
        # licensing running on the pruned queue: the routed event is applied, and the types
        # it has no handler for never reach it, so its dead-letter queue stays empty.
        seen: list[str] = []
        from services.licensing.app import definition

        app = create_service_app(bare(definition, recording(seen)), settings)
        async with running(app):
            await app.state.runtime.consumer.ready.wait()
            await publish_envelopes(
                settings, _envelope(activated), _envelope(sample(OrganizationRegistered))
            )
            await eventually(lambda: seen == [OrganizationRegistered.event_type])
        assert await depth(channel, licensing.dead_letter_queue) == 0


async def test_a_starting_process_never_removes_a_binding(settings):
    """A relay's and a consumer's declarations only add: during a rolling deployment an older
    process must not unbind a route a newer catalogue added (here bound by hand)."""
    from services.licensing.app import definition

    await declare_bus()
    newer_route = ProtectionActivated.event_type  # not routed to licensing by this catalogue
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await bind_by_hand(channel, settings, "licensing", newer_route)
        app = create_service_app(bare(definition, recording([])), settings)
        async with running(app):
            runtime = app.state.runtime
            await runtime.consumer.ready.wait()
            await runtime.relay.ready.wait()
        await publish_envelopes(settings, _envelope(sample(ProtectionActivated)))
        queue = Topology.of("licensing", settings).queue
        assert await types_in(channel, queue) == [newer_route]


async def test_replicas_configured_with_different_delivery_limits_all_declare_their_queue(
    settings,
):
    """`KABINET_BUS_DELIVERY_LIMIT` differs between two running replicas (a changed setting
    rolling out): neither declaration is refused, both consume, and the queue's delivery limit
    stays the constant."""
    from services.licensing.app import definition

    seen: list[str] = []
    apps = [
        create_service_app(
            bare(definition, recording(seen)), settings.model_copy(update={"bus_delivery_limit": n})
        )
        for n in (2, 9)
    ]
    async with running(apps[0]), running(apps[1]):
        for app in apps:
            async with asyncio.timeout(10):
                await app.state.runtime.consumer.ready.wait()
        await publish_envelopes(settings, _envelope(sample(OrganizationRegistered)))
        await eventually(lambda: seen == [OrganizationRegistered.event_type])
        # And the operator's declaration, with yet another value, is accepted too.
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("KABINET_BUS_DELIVERY_LIMIT", "7")
            await declare_bus()
    assert [app.state.runtime.consumer.attempts for app in apps] == [2, 9]


def _envelope(payload):
    from shared.testing.bus import envelope_of

    return envelope_of(payload)


def _routed(payload) -> list[tuple[str, aio_pika.Message]]:
    envelope = _envelope(payload)
    return [(envelope.type, envelope_message(envelope))]


async def _publish_mandatory(
    settings: PlatformSettings, *messages: tuple[str, aio_pika.Message]
) -> None:
    """Confirmed; the stale types still reach another queue, so none is returned."""
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        exchange = await channel.get_exchange(Topology.of("x", settings).exchange)
        for key, message in messages:
            if key == RETIRED:
                # Nobody is bound for a retired type any more: the broker returns it.
                with pytest.raises(aiormq.exceptions.PublishError):
                    await exchange.publish(message, routing_key=key, mandatory=True)
                continue
            await exchange.publish(message, routing_key=key, mandatory=True)


async def test_replay_dlq_drops_what_the_service_neither_handles_nor_is_routed(settings, capsys):
    """licensing's DLQ holds `dongle.protection.activated` ones its stale binding brought (it
    has no handler) and an `identity.organization.registered` whose handler failed: `make
    replay-dlq SERVICE=licensing` sends back the second, drops the first and says so."""
    await declare_bus()
    licensing = Topology.of("licensing", settings)
    dead = [_envelope(sample(ProtectionActivated)) for _ in range(2)]
    failed = _envelope(sample(OrganizationRegistered))
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        for envelope in [*dead, failed]:
            await channel.default_exchange.publish(
                envelope_message(envelope), routing_key=licensing.dead_letter_queue
            )
        assert await asyncio.to_thread(main, ["replay-dlq", "licensing"]) == 0
        out = capsys.readouterr().out
        assert f"replayed 1 event(s) to {licensing.queue}" in out
        assert f"dropped 2 event(s) ({ProtectionActivated.event_type} ×2)" in out
        assert await types_in(channel, licensing.queue) == [OrganizationRegistered.event_type]
        assert await depth(channel, licensing.dead_letter_queue) == 0


async def test_a_queue_no_event_routes_to_any_more_keeps_its_messages_and_receives_nothing(
    settings, monkeypatch
):
    """The catalogue stops naming identity anywhere: after `declare-bus` its queue still exists
    (its consumer declares it at every start), keeps what was waiting in it, and no type of the
    catalogue reaches it any more."""
    await declare_bus()
    identity = Topology.of("identity", settings)
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        await bind_by_hand(channel, settings, "identity", ProtectionActivated.event_type)
        await publish_envelopes(settings, _envelope(sample(ProtectionActivated)))
        assert await depth(channel, identity.queue) == 1

        from shared.bus import topology

        catalogue = topology.catalogue_bindings()
        monkeypatch.setattr(topology, "catalogue_bindings", lambda: {**catalogue, "identity": ()})
        await declare_bus()
        await publish_envelopes(
            settings, *(_envelope(payload) for payload in _every_routed_sample())
        )
        assert await types_in(channel, identity.queue) == [ProtectionActivated.event_type]


def _every_routed_sample():
    from shared.testing.events import SAMPLES

    return [model.model_validate(SAMPLES[model.event_type]) for model in EVENTS if model.consumers]
