"""Tickets (rules 2–7): opening with a certificate check, the thread, status moves, the queue.

Every status change goes through `TicketService.move`, which keeps the SLA and auto-close
clocks right and writes `helpdesk.ticket.status_changed` into the outbox in the same
transaction.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.attachments.service import attachment_service
from services.helpdesk.certificates.service import certificate_service
from services.helpdesk.config import Settings
from services.helpdesk.kb.service import kb_service
from services.helpdesk.models import Ticket, TicketMessage, partner_customers
from services.helpdesk.notifications.service import notification_service
from services.helpdesk.tickets import sla
from services.helpdesk.tickets.auth import Actor, require_agent, visible
from services.helpdesk.tickets.repository import OPEN_STATUSES, TicketRepository
from services.helpdesk.tickets.schemas import (
    AssignmentAsked,
    MessageCreate,
    RemoteSessionDecision,
    StatusChange,
    TicketCreate,
)
from services.helpdesk.tickets.workflow import allowed_move, close_reason_for
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.helpdesk import RenewalRequested, TicketStatusChanged
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput

TIER_RANK = {"partner": 0, "paid": 1, "free": 2, "none": 3}
PRIORITY = {"partner": "high", "paid": "normal", "free": "low", "none": "lowest"}
# Rule 6: what each tier includes.
REMOTE_SESSION_TIERS = frozenset({"paid", "partner"})


@dataclass(frozen=True)
class TicketFilters:
    status: str | None = None
    tier: str | None = None
    assignee_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None


class TicketService:
    async def open(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        settings: Settings,
        actor: Actor,
        asked: TicketCreate,
    ) -> Ticket:
        now = clock.now()
        organization_id = await self._organization_of(session, actor, asked)
        owners = {organization_id}
        if actor.kind == "partner" and actor.organization_id is not None:
            # A partner's own certificate covers the tickets it opens for its customers.
            owners.add(actor.organization_id)
        certificate = None
        if asked.certificate_number is not None:
            certificate = await certificate_service.for_ticket(
                session, now, asked.certificate_number, owners, asked.product_code
            )
        tier = certificate.tier if certificate is not None else "none"
        self._check_category(asked, tier)
        ticket = Ticket(
            id=uuid.uuid4(),
            subject=asked.subject,
            description=asked.description,
            product_code=asked.product_code,
            product_version=asked.product_version,
            os=asked.os,
            category=asked.category,
            certificate_id=certificate.id if certificate else None,
            certificate_number=certificate.number if certificate else None,
            act_number=asked.act_number,
            tier=tier,
            tier_rank=TIER_RANK[tier],
            priority=PRIORITY[tier],
            status="new",
            organization_id=organization_id,
            author_id=actor.id,
            partner_organization_id=actor.organization_id if actor.kind == "partner" else None,
            suggestion_id=asked.suggestion_id,
            created_at=now,
            status_changed_at=now,
            breached=False,
        )
        if tier != "none":
            hours = settings.first_response_hours.get(tier)
            if hours is not None:
                calendar = await sla.calendar_from(session, now)
                sla.start_first_response_clock(ticket, now, timedelta(hours=hours), calendar)
        await TicketRepository(session).add(ticket)
        if asked.suggestion_id is not None:
            await kb_service.ticket_opened(session, asked.suggestion_id, ticket.id)
        if ticket.category == "support_renewal":
            assert ticket.act_number is not None
            await outbox.add(
                session,
                RenewalRequested(
                    ticket_id=ticket.id,
                    ticket_number=ticket.number,
                    organization_id=organization_id,
                    act_number=ticket.act_number,
                    requested_by=actor.id,
                    requested_at=now,
                ),
            )
        return ticket

    async def _organization_of(
        self, session: AsyncSession, actor: Actor, asked: TicketCreate
    ) -> uuid.UUID:
        if actor.kind == "agent":
            raise InvalidInput(
                "organization_id", "support staff do not open tickets; customers and partners do"
            )
        if actor.kind == "customer":
            assert actor.organization_id is not None
            if asked.organization_id not in (None, actor.organization_id):
                raise InvalidInput("organization_id", "only a partner names another organization")
            return actor.organization_id
        if asked.organization_id is None:
            raise InvalidInput("organization_id", "a partner names the customer's organization")
        assert actor.organization_id is not None
        if asked.organization_id != actor.organization_id and not (
            await partner_customers.is_customer(
                session, actor.organization_id, asked.organization_id
            )
        ):
            # Another partner's customer, an organization without a document of this partner
            # and one that does not exist read the same: nothing to probe.
            raise InvalidInput("organization_id", "no customer organization with this id is known")
        return asked.organization_id

    def _check_category(self, asked: TicketCreate, tier: str) -> None:
        if asked.category == "remote_session" and tier not in REMOTE_SESSION_TIERS:
            what = "a ticket without a support certificate" if tier == "none" else "the free tier"
            raise InvalidInput(
                "category",
                f"{what} does not include remote sessions (tier {tier!r}; "
                "only the paid and partner tiers do)",
            )
        if asked.category == "support_renewal" and asked.act_number is None:
            raise InvalidInput("act_number", "a support renewal needs the act number")
        if asked.category != "support_renewal" and asked.act_number is not None:
            raise InvalidInput("act_number", "only a `support_renewal` ticket carries an act")

    async def get(self, session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> Ticket:
        return visible(await TicketRepository(session).get(ticket_id), actor)

    async def _locked(self, session: AsyncSession, actor: Actor, ticket_id: uuid.UUID) -> Ticket:
        """The ticket a change is made to, locked until the transaction ends; one the caller
        may not see is a 404."""
        return visible(await TicketRepository(session).get(ticket_id, for_update=True), actor)

    async def messages(
        self, session: AsyncSession, actor: Actor, ticket: Ticket
    ) -> list[TicketMessage]:
        return await TicketRepository(session).messages(ticket.id, with_notes=actor.is_agent)

    async def listing(
        self, session: AsyncSession, actor: Actor, filters: TicketFilters, page: PageParams
    ) -> tuple[list[Ticket], str | None]:
        repository = TicketRepository(session)
        conditions: list[ColumnElement[bool]] = []
        if filters.status is not None:
            conditions.append(Ticket.status == filters.status)
        if filters.tier is not None:
            conditions.append(Ticket.tier == filters.tier)
        if actor.is_agent:
            if filters.status is None:
                conditions.append(Ticket.status.in_(OPEN_STATUSES))
            if filters.assignee_id is not None:
                conditions.append(Ticket.assignee_id == filters.assignee_id)
            if filters.organization_id is not None:
                conditions.append(Ticket.organization_id == filters.organization_id)
            return await repository.queue(conditions, page)
        if actor.kind == "partner":
            conditions.append(
                (Ticket.organization_id == actor.organization_id)
                | (Ticket.partner_organization_id == actor.organization_id)
            )
            if filters.organization_id is not None:
                conditions.append(Ticket.organization_id == filters.organization_id)
        else:
            conditions.append(Ticket.organization_id == actor.organization_id)
        return await repository.newest_first(conditions, page)

    async def change_status(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        settings: Settings,
        actor: Actor,
        ticket_id: uuid.UUID,
        asked: StatusChange,
    ) -> Ticket:
        now = clock.now()
        ticket = await self._locked(session, actor, ticket_id)
        target = allowed_move(actor.kind, ticket.status, asked.status)
        if target is None:
            raise Conflict(
                f"The ticket is {ticket.status}; {actor.kind}s cannot move it to {asked.status}",
                current_status=ticket.status,
            )
        if asked.status == "reopened":
            self._check_reopen(ticket, now, settings)
        if asked.reason:
            await self._post(session, ticket, actor, "reply", asked.reason, now)
        close_reason = close_reason_for(actor.kind) if target == "closed" else None
        await self.move(session, outbox, settings, ticket, target, now, actor.id, close_reason)
        return ticket

    def _check_reopen(self, ticket: Ticket, now: datetime, settings: Settings) -> None:
        if ticket.close_reason != "auto":
            raise Conflict(
                "The ticket is closed and was not closed automatically; open a new ticket",
                current_status=ticket.status,
            )
        assert ticket.closed_at is not None
        if now - ticket.closed_at > timedelta(days=settings.reopen_days):
            raise Conflict(
                f"The ticket is closed for more than {settings.reopen_days} days; "
                "open a new ticket",
                current_status=ticket.status,
            )

    async def assign(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        settings: Settings,
        actor: Actor,
        ticket_id: uuid.UUID,
        asked: AssignmentAsked,
    ) -> Ticket:
        require_agent(actor)
        ticket = await self._locked(session, actor, ticket_id)
        if ticket.status == "closed":
            raise Conflict("The ticket is closed", current_status=ticket.status)
        ticket.assignee_id = asked.assignee_id or actor.id
        if ticket.status == "new":
            # An agent took it (rule 5).
            await self.move(session, outbox, settings, ticket, "in_progress", clock.now(), actor.id)
        return ticket

    async def post_message(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        settings: Settings,
        actor: Actor,
        ticket_id: uuid.UUID,
        asked: MessageCreate,
    ) -> tuple[Ticket, TicketMessage]:
        now = clock.now()
        ticket = await self._locked(session, actor, ticket_id)
        if asked.internal:
            require_agent(actor)
        if ticket.status == "closed" and not asked.internal:
            raise Conflict(
                "The ticket is closed; reopen it or open a new ticket",
                current_status=ticket.status,
            )
        kind = "note" if asked.internal else "reply"
        message = await self._post(session, ticket, actor, kind, asked.body, now)
        await attachment_service.attach(session, actor, message, asked.attachments)
        if kind == "reply":
            if actor.is_agent and ticket.status == "new":
                await self.move(session, outbox, settings, ticket, "in_progress", now, actor.id)
            elif not actor.is_agent and ticket.status in sla.WAITING_FOR_CUSTOMER:
                # The customer reacted: back to the agents (rule 5).
                await self.move(session, outbox, settings, ticket, "in_progress", now, actor.id)
        return ticket, message

    async def _post(
        self,
        session: AsyncSession,
        ticket: Ticket,
        actor: Actor,
        kind: str,
        body: str,
        now: datetime,
    ) -> TicketMessage:
        message = await TicketRepository(session).add_message(
            TicketMessage(
                id=uuid.uuid4(),
                ticket_id=ticket.id,
                kind=kind,
                author_id=actor.id,
                author_role=actor.kind,
                body=body,
                created_at=now,
            )
        )
        if kind == "reply" and actor.is_agent:
            sla.record_first_response(ticket, now)
            await notification_service.agent_replied(session, ticket, message)
        return message

    async def decide_remote_session(
        self,
        session: AsyncSession,
        clock: Clock,
        actor: Actor,
        ticket_id: uuid.UUID,
        asked: RemoteSessionDecision,
    ) -> Ticket:
        require_agent(actor)
        ticket = await self._locked(session, actor, ticket_id)
        if ticket.category != "remote_session":
            raise Conflict("The ticket does not ask for a remote session")
        if ticket.tier not in REMOTE_SESSION_TIERS:
            raise InvalidInput(
                "decision", f"the {ticket.tier!r} tier does not include remote sessions"
            )
        if asked.decision == "declined" and not asked.reason:
            raise InvalidInput("reason", "a declined remote session needs a reason")
        ticket.remote_session_decision = asked.decision
        ticket.remote_session_reason = asked.reason
        ticket.remote_session_decided_by = actor.id
        ticket.remote_session_decided_at = clock.now()
        return ticket

    async def move(
        self,
        session: AsyncSession,
        outbox: Outbox,
        settings: Settings,
        ticket: Ticket,
        target: str,
        now: datetime,
        changed_by: uuid.UUID | None,
        close_reason: str | None = None,
    ) -> None:
        """Sets the status, stops or restarts the clocks, and states the change as an event."""
        previous = ticket.status
        calendar = await sla.calendar_from(session, now)
        ticket.status = target
        ticket.status_changed_at = now
        ticket.close_reason = close_reason if target == "closed" else None
        ticket.closed_at = now if target == "closed" else None
        if target in sla.WAITING_FOR_CUSTOMER:
            sla.pause_first_response_clock(ticket, now, calendar)
        elif target == "in_progress":
            sla.resume_first_response_clock(ticket, now, calendar)
        sla.set_auto_close(ticket, now, settings.auto_close_working_hours, calendar)
        await outbox.add(
            session,
            TicketStatusChanged(
                ticket_id=ticket.id,
                number=ticket.number,
                organization_id=ticket.organization_id,
                author_id=ticket.author_id,
                from_status=previous,
                to_status=target,
                changed_by=changed_by,
                close_reason=ticket.close_reason,
            ),
        )

    async def mark_breaches(self, session: AsyncSession, clock: Clock) -> list[uuid.UUID]:
        return await TicketRepository(session).mark_breached(clock.now())

    async def auto_close(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, settings: Settings
    ) -> list[Ticket]:
        """Rule 5: waiting tickets without a customer reaction for the auto-close period."""
        now = clock.now()
        closed = await TicketRepository(session).due_for_auto_close(now)
        for ticket in closed:
            await self.move(session, outbox, settings, ticket, "closed", now, None, "auto")
        return closed

    async def recompute_deadlines(self, session: AsyncSession, settings: Settings) -> int:
        """The calendar changed: every running deadline again from its stored start."""
        tickets = await TicketRepository(session).with_running_clocks()
        if not tickets:
            return 0
        starts = [t.sla_started_at or t.status_changed_at for t in tickets]
        calendar = await sla.calendar_from(session, min(starts), max(starts))
        for ticket in tickets:
            sla.recompute(ticket, settings.auto_close_working_hours, calendar)
        return len(tickets)


ticket_service = TicketService()
