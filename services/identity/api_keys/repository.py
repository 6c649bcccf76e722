"""Every query of partner API keys."""

import uuid
from datetime import datetime

from sqlalchemy import Select, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import ApiKey, Organization
from shared.pagination import PageParams, paginate


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, api_key: ApiKey) -> ApiKey:
        self.session.add(api_key)
        await self.session.flush()
        return api_key

    async def get(self, api_key_id: uuid.UUID) -> ApiKey | None:
        return await self.session.get(ApiKey, api_key_id)

    async def with_prefix(self, prefix: str) -> ApiKey | None:
        return await self.session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))

    async def prefix_taken(self, prefix: str) -> bool:
        found = await self.session.scalar(select(ApiKey.id).where(ApiKey.prefix == prefix))
        return found is not None

    async def organization_exists(self, organization_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(Organization.id).where(Organization.id == organization_id)
        )
        return found is not None

    async def page(
        self, params: PageParams, *, organization_id: uuid.UUID | None = None
    ) -> tuple[list[ApiKey], str | None]:
        statement: Select[tuple[ApiKey]] = select(ApiKey)
        if organization_id is not None:
            statement = statement.where(ApiKey.organization_id == organization_id)
        return await paginate(self.session, statement, [ApiKey.id], params)

    async def record_use(self, api_key_id: uuid.UUID, now: datetime, not_since: datetime) -> None:
        """Sets last_used_at unless it is already later than `not_since` (any replica)."""
        await self.session.execute(
            update(ApiKey)
            .where(
                ApiKey.id == api_key_id,
                or_(ApiKey.last_used_at.is_(None), ApiKey.last_used_at <= not_since),
            )
            .values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
