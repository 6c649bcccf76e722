"""Every query of ticket attachments."""

import uuid
from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import TicketAttachment, TicketMessage


class AttachmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, attachment: TicketAttachment) -> TicketAttachment:
        self.session.add(attachment)
        await self.session.flush()
        return attachment

    async def of_ticket(self, ticket_id: uuid.UUID) -> list[tuple[TicketAttachment, str | None]]:
        """The ticket's attachments with the kind of the message carrying each (if any)."""
        rows = await self.session.execute(
            select(TicketAttachment, TicketMessage.kind)
            .outerjoin(TicketMessage, TicketMessage.id == TicketAttachment.message_id)
            .where(TicketAttachment.ticket_id == ticket_id)
            .order_by(TicketAttachment.created_at, TicketAttachment.id)
        )
        return [(attachment, kind) for attachment, kind in rows.all()]

    async def unattached(
        self, ticket_id: uuid.UUID, ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, TicketAttachment]:
        rows = await self.session.scalars(
            select(TicketAttachment)
            .where(
                TicketAttachment.ticket_id == ticket_id,
                TicketAttachment.id.in_(ids),
                TicketAttachment.message_id.is_(None),
            )
            .with_for_update()
        )
        return {row.id: row for row in rows}

    async def attach(self, ids: Sequence[uuid.UUID], message_id: uuid.UUID) -> None:
        await self.session.execute(
            update(TicketAttachment)
            .where(TicketAttachment.id.in_(ids))
            .values(message_id=message_id)
        )
