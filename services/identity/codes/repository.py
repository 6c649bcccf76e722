"""Every query of one-time codes."""

import uuid
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import OneTimeCode
from shared.db import advisory_key


class CodeRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def last_sent(self, purpose: str, subject: str) -> OneTimeCode | None:
        """The newest code for (purpose, subject), used or not, locked for this transaction."""
        return await self.session.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
            .order_by(OneTimeCode.sent_at.desc())
            .limit(1)
            .with_for_update()
        )

    async def lock_destination(self, destination: str) -> None:
        """Serializes the codes sent to one destination until this transaction ends."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(advisory_key(f"code-destination:{destination}")))
        )

    async def sent_to(self, destination: str, since: datetime) -> list[datetime]:
        """When codes went to `destination` after `since`, newest first."""
        rows = await self.session.scalars(
            select(OneTimeCode.sent_at)
            .where(OneTimeCode.destination == destination, OneTimeCode.sent_at > since)
            .order_by(OneTimeCode.sent_at.desc())
        )
        return list(rows.all())

    async def live(self, purpose: str, subject: str) -> OneTimeCode | None:
        """The newest code not used yet, locked for this transaction."""
        return await self.session.scalar(
            select(OneTimeCode)
            .where(
                OneTimeCode.purpose == purpose,
                OneTimeCode.subject == subject,
                OneTimeCode.used_at.is_(None),
            )
            .order_by(OneTimeCode.sent_at.desc())
            .limit(1)
            .with_for_update()
        )

    async def retire_live(self, purpose: str, subject: str, now: datetime) -> list[uuid.UUID]:
        """Ends the codes not used yet for (purpose, subject); their ids."""
        retired = await self.session.scalars(
            update(OneTimeCode)
            .where(
                OneTimeCode.purpose == purpose,
                OneTimeCode.subject == subject,
                OneTimeCode.used_at.is_(None),
            )
            .values(used_at=now)
            .returning(OneTimeCode.id)
        )
        return list(retired.all())

    async def add(self, code: OneTimeCode) -> None:
        self.session.add(code)
        await self.session.flush()
