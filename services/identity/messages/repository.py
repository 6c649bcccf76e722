"""Every query of the outgoing messages."""

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import OutgoingMessage


class MessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, message: OutgoingMessage) -> None:
        self.session.add(message)
        await self.session.flush()

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
