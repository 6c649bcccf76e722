"""helpdesk test fixtures: the service on the run's database, callers as the gateway signs them,
and licensing's / identity's events published on the real bus."""

import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from services.helpdesk.app import create_app
from services.helpdesk.config import Settings
from services.helpdesk.models import SupportCertificate, Ticket, TicketMessage, bus
from shared.auth import Principal
from shared.bus.envelope import Envelope
from shared.clock import ManualClock, business_zone
from shared.events.licensing import PartnerCustomerLinked, SupportRegistered
from shared.testing.bus import publish
from shared.testing.harness import ServiceHarness
from shared.testing.plugin import eventually, running

HelpdeskHarness = ServiceHarness[Settings]

MSK = business_zone()


def msk(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Moscow wall-clock moment as an aware datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=MSK)


@contextlib.asynccontextmanager
async def helpdesk_running(
    platform_settings: Any, clock: ManualClock | None = None, **overrides: Any
) -> AsyncIterator[HelpdeskHarness]:
    # A small pool: the test database server is shared by many runs at once.
    settings = Settings(
        **{
            **platform_settings.model_dump(),
            "db_pool_size": 3,
            "attachments_dir": Path(tempfile.mkdtemp(prefix="kabinet-attachments-")),
            **overrides,
        }
    )
    clock = clock or ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        await app.state.runtime.consumer.ready.wait()
        yield HelpdeskHarness(client, app, settings, clock)


@pytest.fixture
async def helpdesk(platform_settings) -> AsyncIterator[HelpdeskHarness]:
    async with helpdesk_running(platform_settings) as harness:
        yield harness


@pytest.fixture
def start_helpdesk(platform_settings) -> Callable[..., Any]:
    """A helpdesk with other settings (or a second replica on the same database)."""

    def start(clock: ManualClock | None = None, **overrides: Any) -> Any:
        return helpdesk_running(platform_settings, clock, **overrides)

    return start


async def applied(harness: HelpdeskHarness, envelope: Envelope) -> None:
    """Waits until helpdesk's inbox recorded the event (its effect is in the same commit)."""

    async def seen() -> bool:
        async with harness.app.state.sessionmaker() as session:
            found = await session.scalar(
                select(func.count()).where(bus.inbox.c.event_id == envelope.id)
            )
            return bool(found)

    await eventually(seen)


async def register_certificate(
    harness: HelpdeskHarness,
    organization_id: uuid.UUID,
    tier: str = "paid",
    products: tuple[str, ...] = ("KOMPAS-3D",),
    *,
    number: str | None = None,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
) -> str:
    """A certificate as licensing announces it; returns its number once helpdesk has it."""
    now = harness.clock.now()
    number = number or f"ТП-{uuid.uuid4().hex[:8]}"
    envelope = await publish(
        harness.settings,
        SupportRegistered(
            certificate_id=uuid.uuid4(),
            number=number,
            tier=tier,
            organization_id=organization_id,
            products=list(products),
            key_serials=[],
            starts_at=starts_at or now - timedelta(days=30),
            ends_at=ends_at or now + timedelta(days=365),
        ),
        occurred_at=now,
    )
    await applied(harness, envelope)
    return number


async def link_partner(
    harness: HelpdeskHarness, partner_id: uuid.UUID, organization_id: uuid.UUID
) -> Envelope:
    """The organization as licensing announces it a partner's customer, applied by helpdesk."""
    now = harness.clock.now()
    envelope = await publish(
        harness.settings,
        PartnerCustomerLinked(
            partner_id=partner_id,
            organization_id=organization_id,
            source="license",
            source_id=uuid.uuid4(),
            linked_at=now,
        ),
        occurred_at=now,
    )
    await applied(harness, envelope)
    return envelope


def contact(harness: HelpdeskHarness, organization_id: uuid.UUID) -> dict[str, str]:
    return harness.as_contact(organization_id)


def agent(harness: HelpdeskHarness, user_id: uuid.UUID | None = None) -> dict[str, str]:
    return harness.as_(Principal(kind="user", user_id=user_id or uuid.uuid4(), roles=["agent"]))


def ticket_body(**fields: Any) -> dict[str, Any]:
    return {
        "subject": "Не активируется лицензия",
        "description": "После переустановки Windows программа пишет, что лицензия не найдена.",
        "product_code": "KOMPAS-3D",
        "category": "question",
        **fields,
    }


async def open_ticket(
    harness: HelpdeskHarness, headers: dict[str, str], **fields: Any
) -> dict[str, Any]:
    response = await harness.client.post(
        "/api/v1/tickets", json=ticket_body(**fields), headers=headers
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def stored_ticket(harness: HelpdeskHarness, ticket_id: str) -> Ticket:
    async with harness.app.state.sessionmaker() as session:
        ticket = await session.get(Ticket, uuid.UUID(ticket_id))
        assert ticket is not None
        return ticket


async def stored_certificate(harness: HelpdeskHarness, number: str) -> SupportCertificate:
    async with harness.app.state.sessionmaker() as session:
        found = await session.scalar(
            select(SupportCertificate).where(SupportCertificate.number == number)
        )
        assert found is not None
        return found


async def system_messages(harness: HelpdeskHarness, ticket_id: str) -> list[str]:
    async with harness.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(TicketMessage.body).where(
                TicketMessage.ticket_id == uuid.UUID(ticket_id), TicketMessage.kind == "system"
            )
        )
        return list(rows)


async def status_events(harness: HelpdeskHarness, ticket_id: str) -> list[dict[str, Any]]:
    """The `helpdesk.ticket.status_changed` events written for a ticket, oldest first."""
    async with harness.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(bus.outbox.c.envelope)
            .where(bus.outbox.c.event_type == "helpdesk.ticket.status_changed")
            .order_by(bus.outbox.c.seq)
        )
        return [row["data"] for row in rows if row["data"]["ticket_id"] == ticket_id]
