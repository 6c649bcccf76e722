"""Attachments (rule 4): type and size checked, bytes stored outside the row, readable only by
the ticket's organization (and the partner that opened it) and staff; a note's attachment, and
one an agent has not yet put on a public reply, only by staff."""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.attachments.content import content_problem
from services.helpdesk.attachments.repository import AttachmentRepository
from services.helpdesk.config import Settings
from services.helpdesk.models import TicketAttachment, TicketMessage
from services.helpdesk.tickets.auth import Actor, visible
from services.helpdesk.tickets.repository import TicketRepository
from shared.files import FileStore
from shared.problems import Conflict, FieldError, InvalidInput, NotFound, ValidationFailed


def _shown_to(actor: Actor, attachment: TicketAttachment, message_kind: str | None) -> bool:
    if actor.is_agent:
        return True
    if message_kind is not None:
        return message_kind != "note"
    return attachment.uploader_role != "agent"


def clean_filename(filename: str) -> str:
    """The last path part, without control characters (it goes into a header on download)."""
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if not name or name in (".", ".."):
        raise InvalidInput("filename", "give the file's name")
    return name[:255]


class AttachmentService:
    async def upload(
        self,
        session: AsyncSession,
        now: datetime,
        settings: Settings,
        actor: Actor,
        ticket_id: uuid.UUID,
        filename: str,
        content_type: str,
        content: bytes,
    ) -> TicketAttachment:
        ticket = visible(await TicketRepository(session).get(ticket_id), actor)
        if ticket.status == "closed":
            raise Conflict("The ticket is closed", current_status=ticket.status)
        name = clean_filename(filename)
        problem = content_problem(content_type, content)
        if problem is not None:
            raise InvalidInput("content_type", problem)
        attachment_id = uuid.uuid4()
        key = f"{ticket.id}/{attachment_id}"
        digest = await FileStore(settings.attachments_dir).save(key, content)
        return await AttachmentRepository(session).add(
            TicketAttachment(
                id=attachment_id,
                ticket_id=ticket.id,
                filename=name,
                content_type=content_type,
                size=len(content),
                sha256=digest,
                storage_key=key,
                uploaded_by=actor.id,
                uploader_role=actor.kind,
                created_at=now,
            )
        )

    async def shown(
        self, session: AsyncSession, actor: Actor, ticket_id: uuid.UUID
    ) -> list[TicketAttachment]:
        rows = await AttachmentRepository(session).of_ticket(ticket_id)
        return [attachment for attachment, kind in rows if _shown_to(actor, attachment, kind)]

    async def attach(
        self,
        session: AsyncSession,
        actor: Actor,
        message: TicketMessage,
        ids: list[uuid.UUID],
    ) -> None:
        """Puts attachments the author uploaded to this ticket on the message; anything else
        is a 422 naming the entry."""
        if not ids:
            return
        repository = AttachmentRepository(session)
        found = await repository.unattached(message.ticket_id, ids)
        errors = [
            FieldError(
                field=f"attachments[{index}]",
                message="no attachment of yours on this ticket that is not on a message yet",
            )
            for index, attachment_id in enumerate(ids)
            if (attachment := found.get(attachment_id)) is None
            or attachment.uploaded_by != actor.id
        ]
        if len(set(ids)) != len(ids):
            errors.append(FieldError(field="attachments", message="an attachment is listed twice"))
        if errors:
            raise ValidationFailed(errors)
        await repository.attach(ids, message.id)

    async def downloadable(
        self, session: AsyncSession, actor: Actor, ticket_id: uuid.UUID, attachment_id: uuid.UUID
    ) -> TicketAttachment:
        """An attachment of the ticket this caller sees; any other is a 404."""
        visible(await TicketRepository(session).get(ticket_id), actor)
        for attachment in await self.shown(session, actor, ticket_id):
            if attachment.id == attachment_id:
                return attachment
        raise NotFound("No such attachment")


attachment_service = AttachmentService()
