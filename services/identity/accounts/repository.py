"""Every query about the signed-in caller's own account."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import ApiKey, Organization, User


class AccountRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def user(self, user_id: uuid.UUID | None) -> User | None:
        return await self.session.get(User, user_id) if user_id is not None else None

    async def organization(self, organization_id: uuid.UUID | None) -> Organization | None:
        if organization_id is None:
            return None
        return await self.session.get(Organization, organization_id)

    async def api_key(self, api_key_id: uuid.UUID | None) -> ApiKey | None:
        return await self.session.get(ApiKey, api_key_id) if api_key_id is not None else None
