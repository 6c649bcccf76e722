"""Every query of organizations, their contacts and data-change requests."""

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import ChangeRequest, Organization, User
from shared.pagination import PageParams, paginate


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def contacts_page(
        self, organization_id: uuid.UUID, params: PageParams
    ) -> tuple[list[User], str | None]:
        # A contact waiting for approval (or declined) is not one of them (rule 3).
        statement = select(User).where(
            User.organization_id == organization_id, User.membership == "active"
        )
        # Registration order: the responsible person, the first contact, comes first.
        return await paginate(self.session, statement, [User.created_at, User.id], params)

    async def get_contact(self, organization_id: uuid.UUID, user_id: uuid.UUID) -> User | None:
        return await self.session.scalar(
            select(User).where(
                User.id == user_id,
                User.organization_id == organization_id,
                User.membership == "active",
            )
        )

    async def other_contact_with(
        self, organization_id: uuid.UUID, user_id: uuid.UUID, field: str, value: str
    ) -> User | None:
        """Another contact of the organization with this e-mail or phone."""
        column = {"email": User.email, "phone": User.phone}[field]
        return await self.session.scalar(
            select(User)
            .where(User.organization_id == organization_id, User.id != user_id, column == value)
            .limit(1)
        )


class ChangeRequestRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: ChangeRequest) -> ChangeRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(
        self, request_id: uuid.UUID, *, for_decision: bool = False
    ) -> ChangeRequest | None:
        statement = select(ChangeRequest).where(ChangeRequest.id == request_id)
        if for_decision:
            # Two admins deciding at once: the second waits, then sees the decision (409).
            statement = statement.with_for_update().execution_options(populate_existing=True)
        return await self.session.scalar(statement)

    async def page(
        self,
        params: PageParams,
        *,
        organization_id: uuid.UUID | None = None,
        status: str | None = None,
    ) -> tuple[list[ChangeRequest], str | None]:
        statement: Select[tuple[ChangeRequest]] = select(ChangeRequest)
        if organization_id is not None:
            statement = statement.where(ChangeRequest.organization_id == organization_id)
        if status is not None:
            statement = statement.where(ChangeRequest.status == status)
        # ids are UUIDv7: the oldest request first, as a work queue.
        return await paginate(self.session, statement, [ChangeRequest.id], params)
