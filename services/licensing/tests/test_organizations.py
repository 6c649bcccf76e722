"""The organization read model from identity's events, delivered on the real bus: registered,
updated, redelivered, out of order, and published before licensing ever started."""

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from services.licensing.models import Organization, User
from shared.events.identity import (
    FieldChange,
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.testing.bus import publish
from shared.testing.events import sample
from shared.testing.plugin import eventually

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
