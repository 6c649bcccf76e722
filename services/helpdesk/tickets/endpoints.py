"""Tickets: opened by contacts and partners, worked by agents (spec 40, rules 2–7)."""

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.attachments.service import attachment_service
from services.helpdesk.config import Settings
from services.helpdesk.dependencies import SettingsDep
from services.helpdesk.tickets.auth import Actor, ticket_actor
from services.helpdesk.tickets.schemas import (
    AssignmentAsked,
    MessageCreate,
    MessageRead,
    RemoteSessionDecision,
    Status,
    StatusChange,
    TicketCreate,
    TicketDetail,
    TicketPage,
    TicketRead,
    Tier,
)
from services.helpdesk.tickets.service import TicketFilters, ticket_service
from services.helpdesk.tickets.views import ticket_detail, tickets_read
from shared.auth import Principal, require_scope
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.db import SessionDep
from shared.pagination import PageDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["tickets"], responses=PROBLEM_RESPONSES)

TicketCaller = Annotated[Principal, Depends(require_scope("tickets:write"))]


@dataclass(frozen=True)
class TicketChange:
    """What a route that changes tickets hands the service: the caller, the request's session,
    the runtime's clock and outbox, the service's settings."""

    principal: Principal
    session: AsyncSession
    clock: Clock
    outbox: Outbox
    settings: Settings

    @property
    def actor(self) -> Actor:
        return ticket_actor(self.principal)

    @property
    def given(self) -> tuple[AsyncSession, Clock, Outbox, Settings, Actor]:
        """What every ticket-changing method of the service takes first, in its order."""
        return self.session, self.clock, self.outbox, self.settings, self.actor


async def ticket_change(
    principal: TicketCaller,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
    settings: SettingsDep,
) -> TicketChange:
    return TicketChange(principal, session, clock, outbox, settings)


Changing = Annotated[TicketChange, Depends(ticket_change)]


async def _detail(session: SessionDep, principal: Principal, ticket_id: uuid.UUID) -> TicketDetail:
    actor = ticket_actor(principal)
    ticket = await ticket_service.get(session, actor, ticket_id)
    messages = await ticket_service.messages(session, actor, ticket)
    attachments = await attachment_service.shown(session, actor, ticket.id)
    return await ticket_detail(session, ticket, messages, attachments, actor.is_agent)


@router.post("/api/v1/tickets", response_model=TicketRead, status_code=201)
async def open_ticket(body: TicketCreate, change: Changing) -> TicketRead:
    """A contact opens a ticket for its organization; a partner for its customer
    (`organization_id`). A certificate gives the tier and the first-response deadline."""
    ticket = await ticket_service.open(*change.given, body)
    return (await tickets_read(change.session, [ticket]))[0]


@router.get("/api/v1/tickets", response_model=TicketPage)
async def list_tickets(
    principal: TicketCaller,
    session: SessionDep,
    page: PageDep,
    status: Annotated[Status | None, Query()] = None,
    tier: Annotated[Tier | None, Query()] = None,
    assignee_id: Annotated[uuid.UUID | None, Query(description="Agents only.")] = None,
    organization_id: Annotated[uuid.UUID | None, Query()] = None,
) -> TicketPage:
    """Contacts: their organization's tickets, newest first. Agents: the queue — partner,
    paid, free, none, the earliest deadline first within a tier (open tickets by default)."""
    actor = ticket_actor(principal)
    filters = TicketFilters(status, tier, assignee_id, organization_id)
    tickets, next_cursor = await ticket_service.listing(session, actor, filters, page)
    return TicketPage(items=await tickets_read(session, tickets), next_cursor=next_cursor)


@router.get("/api/v1/tickets/{ticket_id}", response_model=TicketDetail)
async def read_ticket(
    ticket_id: uuid.UUID, principal: TicketCaller, session: SessionDep
) -> TicketDetail:
    """The ticket with its thread; internal notes only for staff."""
    return await _detail(session, principal, ticket_id)


@router.post("/api/v1/tickets/{ticket_id}/messages", response_model=MessageRead, status_code=201)
async def post_ticket_message(
    ticket_id: uuid.UUID, body: MessageCreate, change: Changing
) -> MessageRead:
    """A public reply (customer or agent) or an internal note (`internal`, staff only)."""
    _, message = await ticket_service.post_message(*change.given, ticket_id, body)
    detail = await _detail(change.session, change.principal, ticket_id)
    return next(m for m in detail.messages if m.id == message.id)


@router.post("/api/v1/tickets/{ticket_id}/status", response_model=TicketDetail)
async def change_ticket_status(
    ticket_id: uuid.UUID, body: StatusChange, change: Changing
) -> TicketDetail:
    """Agents: `in_progress`, `waiting_for_customer`, `solution_proposed`, `closed`; the
    customer: `closed` (accepts the solution) and `reopened` (an auto-closed ticket, within the
    reopening period). Any other move is a 409 naming the current status."""
    await ticket_service.change_status(*change.given, ticket_id, body)
    return await _detail(change.session, change.principal, ticket_id)


@router.post("/api/v1/tickets/{ticket_id}/assign", response_model=TicketDetail)
async def assign_ticket(
    ticket_id: uuid.UUID, body: AssignmentAsked, change: Changing
) -> TicketDetail:
    """An agent takes the ticket (or gives it to another agent); a new ticket goes in progress."""
    await ticket_service.assign(*change.given, ticket_id, body)
    return await _detail(change.session, change.principal, ticket_id)


@router.post("/api/v1/tickets/{ticket_id}/remote-session", response_model=TicketDetail)
async def decide_remote_session(
    ticket_id: uuid.UUID,
    body: RemoteSessionDecision,
    principal: TicketCaller,
    session: SessionDep,
    clock: ClockDep,
) -> TicketDetail:
    """An agent approves or declines a remote session (paid and partner tiers only)."""
    actor = ticket_actor(principal)
    await ticket_service.decide_remote_session(session, clock, actor, ticket_id, body)
    return await _detail(session, principal, ticket_id)
