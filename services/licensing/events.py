"""The events licensing handles (its queue is bound to exactly these types)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.organizations.service import organization_read_model
from services.licensing.support.service import (
    EVENT_REASONS,
    REFUSALS,
    RenewalRefused,
    support_service,
)
from shared.bus.consumer import EventHandlers, handler_outbox
from shared.bus.envelope import Envelope
from shared.events.common import Reference
from shared.events.helpdesk import RenewalRequested
from shared.events.identity import (
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.events.licensing import RenewalRejected

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


@handlers.on(UserRegistered)
async def user_registered(session: AsyncSession, event: UserRegistered, envelope: Envelope) -> None:
    await organization_read_model.user_registered(session, event, envelope.occurred_at)


@handlers.on(UserUpdated)
async def user_updated(session: AsyncSession, event: UserUpdated, envelope: Envelope) -> None:
    await organization_read_model.user_registered(session, event, envelope.occurred_at)


@handlers.on(RenewalRequested)
async def renewal_requested(
    session: AsyncSession, event: RenewalRequested, envelope: Envelope
) -> None:
    """Rule 8 for a helpdesk ticket: renewed, or rejected with the reason, either way answered."""
    outbox = handler_outbox(session)
    reference = Reference(service="helpdesk", kind="ticket", id=event.ticket_id)
    try:
        # A refusal undoes whatever the attempt changed, then the refusal itself is published.
        async with session.begin_nested():
            await support_service.renew_by_act(
                session,
                outbox,
                event.organization_id,
                event.act_number,
                event.requested_at,
                reference,
            )
    except RenewalRefused as refusal:
        await outbox.add(
            session,
            RenewalRejected(
                reference=reference,
                organization_id=event.organization_id,
                act_number=event.act_number,
                reason=EVENT_REASONS[refusal.reason],
                message=REFUSALS[refusal.reason],
            ),
        )
