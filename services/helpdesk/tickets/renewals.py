"""Rule 7: licensing's answer to a ticket's renewal request, posted into the ticket."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.config import Settings
from services.helpdesk.models import TicketMessage
from services.helpdesk.tickets.repository import TicketRepository
from services.helpdesk.tickets.service import ticket_service
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_date
from shared.events.licensing import RenewalRejected, SupportRenewed

# A ticket already waiting for the customer, or closed, keeps its status.
ANSWER_MOVES_FROM = frozenset({"new", "in_progress", "waiting_for_customer"})


def answer_text(event: SupportRenewed | RenewalRejected) -> str:
    if isinstance(event, SupportRenewed):
        until = business_date(event.ends_at).strftime("%d.%m.%Y")
        act = f" по акту {event.act_number}" if event.act_number else ""
        return f"Техническая поддержка продлена{act} до {until} включительно."
    return f"Продление по акту {event.act_number} не выполнено: {event.message}"


class RenewalService:
    async def answer(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        settings: Settings,
        event: SupportRenewed | RenewalRejected,
    ) -> bool:
        """Posts the answer as a system message and proposes it as the solution; False when
        the reference names no ticket of this organization."""
        reference = event.reference
        if reference is None or reference.service != "helpdesk" or reference.kind != "ticket":
            return False
        ticket = await TicketRepository(session).get(reference.id, for_update=True)
        if ticket is None or ticket.organization_id != event.organization_id:
            return False
        now = clock.now()
        await TicketRepository(session).add_message(
            TicketMessage(
                id=uuid.uuid4(),
                ticket_id=ticket.id,
                kind="system",
                author_id=None,
                author_role="system",
                body=answer_text(event),
                created_at=now,
            )
        )
        if ticket.status in ANSWER_MOVES_FROM:
            await ticket_service.move(
                session, outbox, settings, ticket, "solution_proposed", now, None
            )
        return True


renewal_service = RenewalService()
