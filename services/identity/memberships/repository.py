"""Every query of memberships: contacts waiting to join an organization, and the decisions."""

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import MembershipRequest, User
from shared.pagination import PageParams, paginate


class MembershipRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, request: MembershipRequest) -> None:
        self.session.add(request)
        await self.session.flush()

    async def responsible_persons(self, organization_id: uuid.UUID) -> list[User]:
        rows = await self.session.scalars(
            select(User)
            .where(
                User.organization_id == organization_id,
                User.membership == "active",
                User.roles.contains(["responsible"]),
            )
            .order_by(User.created_at, User.id)
        )
        return list(rows.all())

    async def user(self, user_id: uuid.UUID | None) -> User | None:
        return await self.session.get(User, user_id) if user_id is not None else None

    async def page(
        self, organization_id: uuid.UUID | None, membership: str | None, params: PageParams
    ) -> tuple[list[tuple[MembershipRequest, User]], str | None]:
        """The organization's requests (every organization's: None), oldest first, each with
        its user."""
        statement: Select[MembershipRequest] = select(MembershipRequest).join(
            User, User.id == MembershipRequest.user_id
        )
        if organization_id is not None:
            statement = statement.where(MembershipRequest.organization_id == organization_id)
        if membership is not None:
            statement = statement.where(User.membership == membership)
        requests, next_cursor = await paginate(
            self.session,
            statement,
            [MembershipRequest.requested_at, MembershipRequest.user_id],
            params,
        )
        users = {
            user.id: user
            for user in await self.session.scalars(
                select(User).where(User.id.in_([r.user_id for r in requests]))
            )
        }
        return [(request, users[request.user_id]) for request in requests], next_cursor

    async def for_decision(
        self, organization_id: uuid.UUID, user_id: uuid.UUID
    ) -> tuple[MembershipRequest, User] | None:
        """The request and its user, locked: two deciders at once get one decision and a 409."""
        row = (
            await self.session.execute(
                select(MembershipRequest, User)
                .join(User, User.id == MembershipRequest.user_id)
                .where(
                    MembershipRequest.organization_id == organization_id,
                    MembershipRequest.user_id == user_id,
                )
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None

    async def with_link(self, link_hash: str) -> tuple[MembershipRequest, User] | None:
        row = (
            await self.session.execute(
                select(MembershipRequest, User)
                .join(User, User.id == MembershipRequest.user_id)
                .where(MembershipRequest.link_hash == link_hash)
                .with_for_update()
                .execution_options(populate_existing=True)
            )
        ).first()
        return (row[0], row[1]) if row is not None else None
