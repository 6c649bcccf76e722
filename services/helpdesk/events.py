"""The events helpdesk handles (its queue is bound to exactly these types)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.certificates.service import (
    certificate_service,
    organization_service,
    person_service,
    protection_service,
)
from services.helpdesk.config import Settings
from services.helpdesk.models import partner_customers
from services.helpdesk.notifications.service import notification_service
from services.helpdesk.tickets.renewals import renewal_service
from shared.bus.consumer import (
    EventHandlers,
    Handler,
    handler_clock,
    handler_outbox,
    handler_settings,
)
from shared.bus.envelope import Envelope, EventPayload
from shared.events.dongle import (
    ProtectionActivated,
    ProtectionCancelled,
    ProtectionLapsed,
    ProtectionResumed,
    UpdateFileGenerated,
)
from shared.events.helpdesk import TicketStatusChanged
from shared.events.identity import (
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.events.licensing import (
    PartnerCustomerLinked,
    RenewalRejected,
    SupportExpired,
    SupportRegistered,
    SupportRenewed,
)

handlers = EventHandlers()

# Read models: each event states the whole row, applied unless a newer event was (an older one
# delivered late changes nothing).
READ_MODELS: list[tuple[Handler, tuple[type[EventPayload], ...]]] = [
    # Rule 2: the certificates an organization's tickets may carry, with their tier (an
    # expired one gives no tier to new tickets); a renewal also answers a ticket, below.
    (certificate_service.apply, (SupportRegistered, SupportExpired)),
    # Author names on tickets and the address notifications go to.
    (person_service.apply, (UserRegistered, UserUpdated)),
    # The organization's name on its tickets, for agents working the queue.
    (organization_service.apply, (OrganizationRegistered, OrganizationUpdated)),
    # The organization's key protection, shown to agents on its tickets.
    (
        protection_service.apply,
        (ProtectionActivated, ProtectionLapsed, ProtectionResumed, ProtectionCancelled),
    ),
    # The organizations a partner opens tickets for (a link, once made, stays).
    (partner_customers.apply, (PartnerCustomerLinked,)),
]
for apply, event_types in READ_MODELS:
    for event_type in event_types:
        handlers.on(event_type)(apply)


@handlers.on(SupportRenewed)
async def certificate_renewed(
    session: AsyncSession, event: SupportRenewed, envelope: Envelope
) -> None:
    """A longer term; when a ticket asked for it (rule 7), the answer goes into the ticket."""
    await certificate_service.apply(session, event, envelope)
    if event.reference is not None:
        await _answer_in_ticket(session, event)


@handlers.on(RenewalRejected)
async def renewal_rejected(
    session: AsyncSession, event: RenewalRejected, envelope: Envelope
) -> None:
    """Rule 7: the refusal and its reason go into the ticket that asked."""
    await _answer_in_ticket(session, event)


async def _answer_in_ticket(session: AsyncSession, event: SupportRenewed | RenewalRejected) -> None:
    """Licensing's answer to a ticket's renewal request (rule 7) is posted into that ticket."""
    await renewal_service.answer(
        session,
        handler_clock(session),
        handler_outbox(session),
        handler_settings(session, Settings),
        event,
    )


@handlers.on(TicketStatusChanged)
async def notify_status_change(
    session: AsyncSession, event: TicketStatusChanged, envelope: Envelope
) -> None:
    """Rule 8: the ticket's author gets an e-mail about every status change."""
    await notification_service.status_changed(
        session, event, envelope.id, handler_clock(session).now()
    )


@handlers.on(UpdateFileGenerated)
async def notify_update_file(
    session: AsyncSession, event: UpdateFileGenerated, envelope: Envelope
) -> None:
    """The organization's people learn that a new update file of their key is ready."""
    await notification_service.update_file_ready(
        session, event, envelope.id, handler_clock(session).now()
    )
