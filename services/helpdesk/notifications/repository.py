"""Every query of the notification outbox."""

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import Notification, Person


class NotificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_once(self, values: dict[str, Any]) -> bool:
        """Writes the notification unless one with its `dedup_key` exists; True if written."""
        written = await self.session.scalar(
            insert(Notification)
            .values(**values)
            .on_conflict_do_nothing(index_elements=[Notification.dedup_key])
            .returning(Notification.id)
        )
        return written is not None

    async def due(self, now: datetime, limit: int) -> list[tuple[Notification, Person | None]]:
        """Pending mails whose time has come, locked; another sender skips them."""
        rows = await self.session.execute(
            select(Notification, Person)
            .outerjoin(Person, Person.id == Notification.recipient_id)
            .where(Notification.status == "pending", Notification.next_attempt_at <= now)
            .order_by(Notification.next_attempt_at, Notification.created_at)
            .limit(limit)
            .with_for_update(of=Notification, skip_locked=True)
        )
        return [(notification, person) for notification, person in rows.all()]
