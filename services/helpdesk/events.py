"""The events helpdesk handles (its queue is bound to exactly these types)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.certificates.service import certificate_service, person_service
from services.helpdesk.config import get_settings
from services.helpdesk.notifications.service import notification_service
from services.helpdesk.tickets.renewals import renewal_service
from shared.bus.consumer import EventHandlers, handler_clock, handler_outbox
from shared.bus.envelope import Envelope
from shared.events.helpdesk import TicketStatusChanged
from shared.events.identity import UserRegistered, UserUpdated
from shared.events.licensing import (
    RenewalRejected,
    SupportExpired,
    SupportRegistered,
    SupportRenewed,
)

handlers = EventHandlers()


@handlers.on(SupportRegistered)
async def certificate_registered(
    session: AsyncSession, event: SupportRegistered, envelope: Envelope
) -> None:
    """Rule 2: a certificate the organization's tickets may carry, with its tier."""
    await certificate_service.apply(session, event, envelope)


@handlers.on(SupportRenewed)
async def certificate_renewed(
    session: AsyncSession, event: SupportRenewed, envelope: Envelope
) -> None:
    """A longer term; when a ticket asked for it (rule 7), the answer goes into the ticket."""
    await certificate_service.apply(session, event, envelope)
    if event.reference is not None:
        await renewal_service.answer(
            session, handler_clock(session), handler_outbox(session), get_settings(), event
        )


@handlers.on(SupportExpired)
async def certificate_expired(
    session: AsyncSession, event: SupportExpired, envelope: Envelope
) -> None:
    """No tier any more for new tickets."""
    await certificate_service.apply(session, event, envelope)


@handlers.on(RenewalRejected)
async def renewal_rejected(
    session: AsyncSession, event: RenewalRejected, envelope: Envelope
) -> None:
    """Rule 7: the refusal and its reason go into the ticket that asked."""
    await renewal_service.answer(
        session, handler_clock(session), handler_outbox(session), get_settings(), event
    )


@handlers.on(UserRegistered)
async def person_registered(
    session: AsyncSession, event: UserRegistered, envelope: Envelope
) -> None:
    """Author names on tickets and the address notifications go to."""
    await person_service.apply(session, event, envelope)


@handlers.on(UserUpdated)
async def person_updated(session: AsyncSession, event: UserUpdated, envelope: Envelope) -> None:
    await person_service.apply(session, event, envelope)


@handlers.on(TicketStatusChanged)
async def notify_status_change(
    session: AsyncSession, event: TicketStatusChanged, envelope: Envelope
) -> None:
    """Rule 8: the ticket's author gets an e-mail about every status change."""
    await notification_service.status_changed(
        session, event, envelope.id, handler_clock(session).now()
    )
