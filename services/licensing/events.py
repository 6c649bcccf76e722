"""The events licensing handles (its queue is bound to exactly these types)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.organizations.service import organization_read_model
from shared.bus.consumer import EventHandlers
from shared.bus.envelope import Envelope
from shared.events.identity import OrganizationRegistered, OrganizationUpdated

handlers = EventHandlers()


@handlers.on(OrganizationRegistered)
async def organization_registered(
    session: AsyncSession, event: OrganizationRegistered, envelope: Envelope
) -> None:
    await organization_read_model.registered(session, event, envelope.occurred_at)


@handlers.on(OrganizationUpdated)
async def organization_updated(
    session: AsyncSession, event: OrganizationUpdated, envelope: Envelope
) -> None:
    await organization_read_model.updated(session, event, envelope.occurred_at)
