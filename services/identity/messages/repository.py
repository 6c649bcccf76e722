"""Every query of the outgoing messages."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import OutgoingMessage


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: OutgoingMessage) -> None:
        self.session.add(message)
        await self.session.flush()

    async def withdraw_codes(self, code_ids: Sequence[uuid.UUID]) -> None:
        """Messages of codes a newer one replaced: never sent, their text wiped."""
        if code_ids:
            await self.session.execute(
                update(OutgoingMessage)
                .where(OutgoingMessage.code_id.in_(code_ids), OutgoingMessage.status == "pending")
                .values(status="expired", text=None)
            )

    async def delete_done(self, before: datetime) -> int:
        """Sent and expired messages (their text is gone already) older than `before`."""
        result = await self.session.execute(
            delete(OutgoingMessage).where(
                OutgoingMessage.status != "pending", OutgoingMessage.created_at < before
            )
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def due(self, now: datetime, limit: int) -> list[OutgoingMessage]:
        """Pending messages whose time has come, locked; another sender (a replica, or the
        send right after a request) skips them, so no message goes out twice at once."""
        rows = await self.session.scalars(
            select(OutgoingMessage)
            .where(OutgoingMessage.status == "pending", OutgoingMessage.next_attempt_at <= now)
            .order_by(OutgoingMessage.next_attempt_at, OutgoingMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(rows.all())
