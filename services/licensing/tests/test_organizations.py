"""The organization read model from identity's events, delivered on the real bus: registered,
updated, redelivered, out of order, and published before licensing ever started."""

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import aio_pika
from sqlalchemy import func, select

from services.identity.app import definition as identity
from services.licensing.app import definition as licensing_definition
from services.licensing.events import handlers
from services.licensing.models import Organization, User
from services.licensing.tests.conftest import licensing_settings
from shared.bus.consumer import EventHandlers
from shared.bus.topology import Topology
from shared.clock import ManualClock
from shared.events.identity import (
    FieldChange,
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.service import create_service_app
from shared.testing.bus import publish
from shared.testing.events import sample
from shared.testing.plugin import delete_bus_names, eventually, running

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def registered(organization_id: uuid.UUID, **overrides) -> OrganizationRegistered:
    return sample(OrganizationRegistered, organization_id=organization_id, **overrides)


def updated(organization_id: uuid.UUID, name: str, **overrides) -> OrganizationUpdated:
    values = {
        "organization_id": organization_id,
        "changes": {"name": FieldChange(old="ООО Ромашка", new=name)},
        "name": name,
        "full_name": f"Общество с ограниченной ответственностью {name}",
        "country": "RU",
        "resident": True,
        "inn": "7707083893",
        "kpp": "773601001",
    }
    return OrganizationUpdated.model_validate({**values, **overrides})


async def organization(licensing, organization_id):
    async with licensing.app.state.sessionmaker() as session:
        return await session.get(Organization, organization_id)


async def consumer_ready(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()


async def test_a_registered_organization_is_known_with_its_residency_and_inn(licensing):
    await consumer_ready(licensing)
    resident, foreign = uuid.uuid4(), uuid.uuid4()
    await publish(licensing.settings, registered(resident), T0)
    await publish(
        licensing.settings,
        registered(
            foreign,
            name="Foreign GmbH",
            full_name="Foreign GmbH",
            country="DE",
            resident=False,
            inn=None,
            kpp=None,
            foreign_tax_id="DE123456789",
        ),
        T0,
    )

    known = await eventually(lambda: organization(licensing, foreign))
    ours = await organization(licensing, resident)
    assert (ours.inn, ours.kpp, ours.resident, ours.customer_number) == (
        "7707083893",
        "773601001",
        True,
        "100042",
    )
    assert (known.resident, known.inn, known.foreign_tax_id, known.country) == (
        False,
        None,
        "DE123456789",
        "DE",
    )


async def test_an_update_changes_the_requisites_and_a_redelivery_changes_nothing(licensing):
    await consumer_ready(licensing)
    org = uuid.uuid4()
    await publish(licensing.settings, registered(org), T0)
    first = await publish(licensing.settings, updated(org, "ООО Лютик"), T0 + timedelta(hours=1))
    await eventually(lambda: _named(licensing, org, "ООО Лютик"))

    # The same event again (same id), then a later change, then the first change redelivered.
    await publish(licensing.settings, updated(org, "ООО Лютик"), T0 + timedelta(hours=1), first.id)
    await publish(licensing.settings, updated(org, "ООО Василёк"), T0 + timedelta(hours=2))
    await publish(licensing.settings, updated(org, "ООО Лютик"), T0 + timedelta(hours=1), first.id)
    marker = uuid.uuid4()
    await publish(licensing.settings, registered(marker), T0)
    await eventually(lambda: organization(licensing, marker))

    assert (await organization(licensing, org)).name == "ООО Василёк"
    async with licensing.app.state.sessionmaker() as session:
        inbox = licensing.app.state.runtime.definition.bus.inbox
        seen = await session.scalar(
            select(func.count()).select_from(inbox).where(inbox.c.event_id == first.id)
        )
    assert seen == 1


async def test_events_out_of_order_leave_the_newest_requisites(licensing):
    await consumer_ready(licensing)
    org = uuid.uuid4()
    # The update overtakes the registration, then an older update arrives late.
    await publish(
        licensing.settings,
        updated(org, "ООО Лютик", inn="500100732259", kpp=None),
        T0 + timedelta(hours=2),
    )
    await eventually(lambda: organization(licensing, org))
    assert (await organization(licensing, org)).customer_number is None
    await publish(licensing.settings, registered(org), T0)
    await publish(licensing.settings, updated(org, "ООО Старое"), T0 + timedelta(hours=1))
    marker = uuid.uuid4()
    await publish(licensing.settings, registered(marker), T0)
    await eventually(lambda: organization(licensing, marker))

    known = await organization(licensing, org)
    assert (known.name, known.inn, known.kpp) == ("ООО Лютик", "500100732259", None)
    # What only the registration tells is taken whenever it comes.
    assert known.customer_number == "100042"


async def _named(licensing, org, name):
    found = await organization(licensing, org)
    return found is not None and found.name == name


def user_event(user_id, organization_id, email, cls=None):
    values = {
        "user_id": user_id,
        "organization_id": organization_id,
        "email": email,
        "full_name": "Петров Пётр Петрович",
    }
    if cls is UserUpdated:
        return UserUpdated(**values, changes={"email": FieldChange(old="a@b.ru", new=email)})
    return UserRegistered(**values, roles=["responsible"])


async def email_of(licensing, user_id):
    async with licensing.app.state.sessionmaker() as session:
        user = await session.get(User, user_id)
        return user.email if user is not None else None


async def test_contacts_emails_follow_the_newest_event_once_each(licensing):
    await consumer_ready(licensing)
    org, user = uuid.uuid4(), uuid.uuid4()
    # The change overtakes the registration; the registration arrives late, then twice.
    await publish(
        licensing.settings,
        user_event(user, org, "New@Romashka.ru", UserUpdated),
        T0 + timedelta(hours=1),
    )
    late = await publish(licensing.settings, user_event(user, org, "old@romashka.ru"), T0)
    await publish(licensing.settings, user_event(user, org, "old@romashka.ru"), T0, late.id)
    marker = uuid.uuid4()
    await publish(licensing.settings, user_event(marker, org, "m@romashka.ru"), T0)
    await eventually(lambda: email_of(licensing, marker))

    assert await email_of(licensing, user) == "new@romashka.ru"


async def test_organizations_registered_before_licensing_first_started_all_arrive_in_order_once(
    platform_settings, tmp_path
):
    """identity registers organizations (and renames one) through its own outbox relay while
    licensing has never run in this bus namespace; licensing starts later and its read model
    gets every one of them, applied in the order identity committed them, each once."""
    namespace = f"{platform_settings.bus_namespace}lic-late-{uuid.uuid4().hex[:8]}."
    identity_settings = platform_settings.model_copy(
        update={"bus_namespace": namespace, "outbox_poll_seconds": 0.1}
    )
    settings = licensing_settings(
        platform_settings, bus_namespace=namespace, documents_dir=tmp_path / "documents"
    )
    organizations = [
        registered(uuid.uuid4(), customer_number=f"7{i:05d}", name=f"ООО Проба {i}")
        for i in range(6)
    ]
    renamed = updated(organizations[2].organization_id, "ООО Василёк")
    published: list[OrganizationRegistered | OrganizationUpdated] = [
        *organizations[:3],
        renamed,
        *organizations[3:],
    ]
    # identity alone: its relay, no routes or start-up steps of its own.
    identity_app = create_service_app(
        replace(identity, startup=[], jobs=[], routers=[], handlers=EventHandlers()),
        identity_settings,
    )
    applied: list[tuple[str, uuid.UUID]] = []
    licensing_app = create_service_app(
        replace(licensing_definition, handlers=recording(handlers, applied)),
        settings,
        clock=ManualClock(),
    )
    try:
        async with running(identity_app):
            runtime = identity_app.state.runtime
            ids = []
            # Three commits, as three registrations in identity would be.
            for batch in (published[:3], published[3:5], published[5:]):
                async with runtime.sessionmaker() as session, session.begin():
                    for event in batch:
                        ids.append((await runtime.outbox.add(session, event)).id)
            await eventually(lambda: _sent(runtime, ids))
        # licensing has never run, yet its queue holds every event meant for it.
        queue = Topology.of("licensing", settings).queue
        assert await _queue_depth(settings, queue) == len(published)

        async with running(licensing_app):
            await eventually(lambda: len(applied) >= len(published))
            async with licensing_app.state.sessionmaker() as session:
                rows = {
                    event.organization_id: await session.get(Organization, event.organization_id)
                    for event in organizations
                }
                inbox = licensing_definition.bus.inbox
                seen = await session.scalar(
                    select(func.count()).select_from(inbox).where(inbox.c.event_id.in_(ids))
                )
    finally:
        await delete_bus_names(settings)

    assert applied == [(event.event_type, event.organization_id) for event in published]
    assert seen == len(published)
    assert [rows[event.organization_id].customer_number for event in organizations] == [
        event.customer_number for event in organizations
    ]
    assert [rows[event.organization_id].name for event in organizations] == [
        "ООО Проба 0",
        "ООО Проба 1",
        "ООО Василёк",
        "ООО Проба 3",
        "ООО Проба 4",
        "ООО Проба 5",
    ]


def recording(real: EventHandlers, applied: list[tuple[str, uuid.UUID]]) -> EventHandlers:
    """licensing's own handlers, each noting the event it applied, in the order applied."""
    noted = EventHandlers()
    for event_type in real.event_types:
        registered_ = real.get(event_type)
        assert registered_ is not None
        payload_type, handler = registered_

        async def note(session, event, envelope, handler=handler) -> None:
            await handler(session, event, envelope)
            applied.append((envelope.type, event.organization_id))

        noted.on(payload_type)(note)
    return noted


async def _sent(runtime, event_ids) -> bool:
    outbox = runtime.definition.bus.outbox
    async with runtime.sessionmaker() as session:
        states = await session.scalars(
            select(outbox.c.state).where(outbox.c.event_id.in_(event_ids))
        )
        return list(states) == ["published"] * len(event_ids)


async def _queue_depth(settings, name: str) -> int:
    connection = await aio_pika.connect(settings.amqp_url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return queue.declaration_result.message_count or 0
