"""Every query of staff accounts."""

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import User


class StaffRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def with_email(self, email: str) -> User | None:
        return await self.session.scalar(
            select(User).where(User.organization_id.is_(None), User.email == email)
        )

    async def add(self, user: User) -> User:
        self.session.add(user)
        await self.session.flush()
        return user
