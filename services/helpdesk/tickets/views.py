"""Tickets and threads turned into what the caller may read (notes only for staff)."""

import uuid
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.certificates.repository import (
    OrganizationRepository,
    PersonRepository,
    ProtectionRepository,
)
from services.helpdesk.models import Person, Ticket, TicketAttachment, TicketMessage
from services.helpdesk.tickets.schemas import (
    AttachmentRead,
    AuthorRead,
    MessageRead,
    ProtectionRead,
    RemoteSessionRead,
    TicketDetail,
    TicketRead,
)

# Shown when identity has not told helpdesk the person's name (yet).
FALLBACK_NAMES = {
    "customer": "Клиент",
    "partner": "Партнёр",
    "agent": "Служба поддержки",
    "system": "Kabinet",
}


def _author(person_id: uuid.UUID | None, role: str, people: dict[uuid.UUID, Person]) -> AuthorRead:
    person = people.get(person_id) if person_id else None
    name = person.full_name if person else FALLBACK_NAMES[role]
    return AuthorRead(id=person_id, name=name, role=role)


def _author_role(ticket: Ticket) -> str:
    return "partner" if ticket.partner_organization_id is not None else "customer"


def _ticket_fields(
    ticket: Ticket, people: dict[uuid.UUID, Person], organizations: dict[uuid.UUID, str]
) -> dict[str, object]:
    remote = None
    if ticket.category == "remote_session":
        remote = RemoteSessionRead(
            decision=ticket.remote_session_decision,
            reason=ticket.remote_session_reason,
            decided_at=ticket.remote_session_decided_at,
        )
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "description": ticket.description,
        "product_code": ticket.product_code,
        "product_version": ticket.product_version,
        "os": ticket.os,
        "category": ticket.category,
        "certificate_number": ticket.certificate_number,
        "act_number": ticket.act_number,
        "tier": ticket.tier,
        "priority": ticket.priority,
        "status": ticket.status,
        "close_reason": ticket.close_reason,
        "organization_id": ticket.organization_id,
        "organization_name": organizations.get(ticket.organization_id),
        "author": _author(ticket.author_id, _author_role(ticket), people),
        "assignee_id": ticket.assignee_id,
        "first_response_due_at": ticket.first_response_due_at,
        "first_responded_at": ticket.first_responded_at,
        "breached": ticket.breached,
        "remote_session": remote,
        "created_at": ticket.created_at,
        "status_changed_at": ticket.status_changed_at,
        "closed_at": ticket.closed_at,
    }


async def people_of(
    session: AsyncSession, ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, Person]:
    return await PersonRepository(session).many({i for i in ids if i is not None})


async def organization_names(
    session: AsyncSession, tickets: Iterable[Ticket]
) -> dict[uuid.UUID, str]:
    return await OrganizationRepository(session).names({t.organization_id for t in tickets})


async def tickets_read(session: AsyncSession, tickets: list[Ticket]) -> list[TicketRead]:
    people = await people_of(session, (t.author_id for t in tickets))
    organizations = await organization_names(session, tickets)
    return [TicketRead(**_ticket_fields(t, people, organizations)) for t in tickets]


async def ticket_detail(
    session: AsyncSession,
    ticket: Ticket,
    messages: list[TicketMessage],
    attachments: list[TicketAttachment],
    staff: bool,
) -> TicketDetail:
    """The ticket as the caller may see it: `messages` and `attachments` already filtered;
    the organization's key protection for staff."""
    on_message: dict[uuid.UUID, list[uuid.UUID]] = {}
    for attachment in attachments:
        if attachment.message_id is not None:
            on_message.setdefault(attachment.message_id, []).append(attachment.id)
    people = await people_of(
        session, [ticket.author_id, *(message.author_id for message in messages)]
    )
    thread = [
        MessageRead(
            id=message.id,
            kind=message.kind,
            author=_author(message.author_id, message.author_role, people),
            body=message.body,
            attachments=on_message.get(message.id, []),
            created_at=message.created_at,
        )
        for message in messages
    ]
    return TicketDetail(
        **_ticket_fields(ticket, people, await organization_names(session, [ticket])),
        messages=thread,
        attachments=[
            AttachmentRead.model_validate(attachment, from_attributes=True)
            for attachment in attachments
        ],
        protection=await _protection(session, ticket.organization_id) if staff else None,
    )


async def _protection(session: AsyncSession, organization_id: uuid.UUID) -> list[ProtectionRead]:
    return [
        ProtectionRead(
            key_serial=subscription.key_serial,
            status=subscription.status,
            reason=subscription.reason,
            resumable_until=subscription.resumable_until,
            changed_at=subscription.last_event_at,
        )
        for subscription in await ProtectionRepository(session).of_organization(organization_id)
    ]
