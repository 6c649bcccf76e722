"""A protected key in a few calls: a key, its maintenance, licenses, a paid subscription."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from services.dongle.models import bus
from services.dongle.tests.bus import handled, license_issued
from services.dongle.tests.test_keys import codemeter_serial, import_key
from shared.events.common import Reference
from shared.events.licensing import InvoiceIssued, InvoiceItem, InvoicePaid, SupportRegistered
from shared.testing.bus import envelope_of

FAR = datetime(2028, 12, 1, tzinfo=UTC)


def support(serials: list[str], ends_at: datetime, **extra: Any) -> SupportRegistered:
    return SupportRegistered(
        certificate_id=extra.pop("certificate_id", uuid.uuid4()),
        number="SUP-7",
        tier="paid",
        organization_id=extra.pop("organization_id", uuid.uuid4()),
        products=["CAD-PRO"],
        key_serials=serials,
        starts_at=datetime(2026, 1, 1, tzinfo=UTC),
        ends_at=ends_at,
        **extra,
    )


async def maintained_key(
    dongle,
    organization_id: uuid.UUID,
    ends_at: datetime = FAR,
    licenses: int = 1,
    certificate_id: uuid.UUID | None = None,
) -> tuple[str, list[uuid.UUID]]:
    """A CodeMeter key with maintenance until `ends_at` and `licenses` active licenses."""
    serial = codemeter_serial()
    assert (await import_key(dongle, organization_id, serial=serial)).status_code == 201
    issued = [license_issued(organization_id, serial) for _ in range(licenses)]
    now = dongle.clock.now()
    await handled(
        dongle,
        envelope_of(
            support([serial], ends_at, certificate_id=certificate_id or uuid.uuid4()),
            now - timedelta(days=300),
        ),
        *(envelope_of(event, now - timedelta(days=300)) for event in issued),
    )
    return serial, [event.license_id for event in issued]


def reference(kind: str, object_id: uuid.UUID) -> Reference:
    return Reference(service="dongle", kind=kind, id=object_id)


def invoice_issued(
    organization_id: uuid.UUID,
    ref: Reference,
    items: list[tuple[str, str]],
    invoice_id: uuid.UUID | None = None,
) -> InvoiceIssued:
    lines = [
        InvoiceItem(
            price_code=code,
            name=code,
            quantity=1,
            unit_price=Decimal(amount),
            amount=Decimal(amount),
        )
        for code, amount in items
    ]
    return InvoiceIssued(
        invoice_id=invoice_id or uuid.uuid4(),
        number="INV-1",
        organization_id=organization_id,
        reference=ref,
        resident=True,
        price_list_effective_on=datetime(2026, 1, 1).date(),
        items=lines,
        total=sum((line.amount for line in lines), Decimal(0)),
    )


def invoice_paid(issued: InvoiceIssued, paid_at: datetime) -> InvoicePaid:
    return InvoicePaid(
        invoice_id=issued.invoice_id,
        number=issued.number,
        organization_id=issued.organization_id,
        reference=issued.reference,
        amount=issued.total,
        paid_at=paid_at,
    )


async def connect(dongle, organization_id: uuid.UUID, serial: str) -> dict[str, Any]:
    response = await dongle.client.post(
        f"/api/v1/keys/{serial}/protection", headers=dongle.as_contact(organization_id)
    )
    assert response.status_code == 201, response.text
    return response.json()


async def connected_key(dongle, organization_id: uuid.UUID) -> tuple[str, dict[str, Any]]:
    """A maintained key whose protection was asked for and waits for payment:
    (serial, subscription)."""
    serial, _ = await maintained_key(dongle, organization_id)
    return serial, await connect(dongle, organization_id, serial)


def protection_invoice(
    organization_id: uuid.UUID, subscription_id: str | uuid.UUID, price: str = "4900.00"
) -> InvoiceIssued:
    """licensing's invoice for a protection subscription, at `price`."""
    ref = reference("protection_subscription", uuid.UUID(str(subscription_id)))
    return invoice_issued(organization_id, ref, [("KEY_PROTECTION", price)])


async def protected_key(
    dongle,
    organization_id: uuid.UUID,
    ends_at: datetime = FAR,
    licenses: int = 1,
    certificate_id: uuid.UUID | None = None,
) -> tuple[str, list[uuid.UUID], str]:
    """A key with an active, paid protection subscription: (serial, license ids, sub id)."""
    serial, license_ids = await maintained_key(
        dongle, organization_id, ends_at, licenses, certificate_id
    )
    subscription = await connect(dongle, organization_id, serial)
    issued = protection_invoice(organization_id, subscription["id"])
    now = dongle.clock.now()
    await handled(dongle, envelope_of(issued, now), envelope_of(invoice_paid(issued, now), now))
    return serial, license_ids, subscription["id"]


async def read_key(dongle, serial: str) -> dict[str, Any]:
    response = await dongle.client.get(f"/api/v1/keys/{serial}", headers=dongle.as_admin())
    assert response.status_code == 200, response.text
    return response.json()


async def published(
    dongle, event_type: str, serial: str, field: str = "key_serial"
) -> list[dict[str, Any]]:
    """The `data` of the events of a type about a key that dongle wrote into its outbox."""
    outbox = bus.outbox
    async with dongle.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(outbox.c.envelope)
            .where(outbox.c.event_type == event_type)
            .where(outbox.c.envelope["data"][field].astext == serial)
            .order_by(outbox.c.seq)
        )
        return [row["data"] for row in rows]


async def history(dongle, serial: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = await dongle.client.get(f"/api/v1/keys/{serial}/protection/history", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()["items"]
