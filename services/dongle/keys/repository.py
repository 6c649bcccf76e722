"""Every query of protection keys."""

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import ProtectionKey
from shared.pagination import PageParams, paginate


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ProtectionKey) -> ProtectionKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def with_serial(self, serial: str) -> ProtectionKey | None:
        return await self.session.scalar(
            select(ProtectionKey).where(ProtectionKey.serial == serial)
        )

    async def page(
        self, params: PageParams, *, organization_ids: list[uuid.UUID] | None
    ) -> tuple[list[ProtectionKey], str | None]:
        """Keys by serial; only those of `organization_ids` unless it is None."""
        statement: Select[ProtectionKey] = select(ProtectionKey)
        if organization_ids is not None:
            statement = statement.where(ProtectionKey.organization_id.in_(organization_ids))
        return await paginate(self.session, statement, [ProtectionKey.serial], params)
