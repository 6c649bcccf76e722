"""Publishing licensing's and identity's events onto the real bus, as their services would."""

import uuid
from datetime import UTC, date, datetime, timedelta

import aio_pika
from sqlalchemy import select

from services.dongle.models import bus
from shared.bus.envelope import Envelope, EventPayload
from shared.events.identity import OrganizationRegistered
from shared.events.licensing import LicenseIssued
from shared.testing.plugin import eventually


def envelope_of(payload: EventPayload, occurred_at: datetime | None = None) -> Envelope:
    return Envelope.wrap(
        payload,
        producer=payload.event_type.split(".", 1)[0],
        occurred_at=occurred_at or datetime.now(UTC),
    )


async def publish(dongle, *envelopes: Envelope) -> None:
    """Sends the envelopes in order, as persistent messages on the events exchange."""
    runtime = dongle.app.state.runtime
    await runtime.consumer.ready.wait()
    connection = await aio_pika.connect(runtime.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        exchange = await channel.get_exchange(runtime.topology.exchange)
        for envelope in envelopes:
            await exchange.publish(envelope.message(), routing_key=envelope.type, mandatory=True)


async def handled(dongle, *envelopes: Envelope) -> None:
    """Publishes the envelopes and waits until the consumer got past the last of them (a
    marker event sent after them; one consumer keeps the order)."""
    marker = envelope_of(organization_registered(uuid.uuid4(), None))
    await publish(dongle, *envelopes, marker)
    inbox = bus.inbox

    async def seen() -> bool:
        async with dongle.app.state.sessionmaker() as session:
            return bool(
                await session.scalar(select(inbox.c.event_id).where(inbox.c.event_id == marker.id))
            )

    await eventually(seen)


def organization_registered(organization_id: uuid.UUID, inn: str | None) -> OrganizationRegistered:
    """A resident organization with `inn`, or (None) a non-resident one."""
    resident = inn is not None
    return OrganizationRegistered(
        organization_id=organization_id,
        customer_number="100000",
        kind="legal_entity",
        legal_form="ООО" if resident else "GmbH",
        name="ООО Ромашка" if resident else "Muster GmbH",
        full_name="Общество с ограниченной ответственностью Ромашка" if resident else "Muster",
        country="RU" if resident else "DE",
        resident=resident,
        inn=inn,
        kpp="500101001" if resident else None,
        foreign_tax_id=None if resident else "DE123456789",
    )


def license_issued(
    organization_id: uuid.UUID,
    serial: str | None,
    *,
    license_id: uuid.UUID | None = None,
    product_code: str = "CAD-PRO",
    expires_at: date | None = date(2027, 11, 19),
) -> LicenseIssued:
    return LicenseIssued(
        license_id=license_id or uuid.uuid4(),
        organization_id=organization_id,
        product_code=product_code,
        product_name="САПР Про",
        seats=1,
        protection="codemeter",
        key_serial=serial,
        status="active",
        starts_at=date(2026, 11, 20),
        expires_at=expires_at,
    )


def at(minutes: int) -> datetime:
    """A fixed moment plus some minutes: lets a test order events by `occurred_at`."""
    return datetime(2026, 11, 2, 9, 0, tzinfo=UTC) + timedelta(minutes=minutes)
