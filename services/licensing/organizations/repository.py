"""Every query of the organization read model."""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.models import Organization, User
from shared.db import apply_newer

# Requisites every identity event carries in full; they follow the newest event.
REQUISITES = ("name", "full_name", "country", "resident", "inn", "kpp", "foreign_tax_id")


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def with_inn(self, inn: str) -> Sequence[Organization]:
        """The organizations with this INN (several: subdivisions of one company)."""
        return (
            await self.session.scalars(select(Organization).where(Organization.inn == inn))
        ).all()

    async def merge(self, values: dict[str, Any]) -> None:
        """Inserts the organization or brings it up to `values` where they are newer.

        The requisites change only when `values["as_of"]` is later than the row's; facts fixed
        at registration (`customer_number`) are filled in whenever they arrive.
        """
        statement = insert(Organization).values(**values)
        excluded = statement.excluded
        newer = Organization.as_of < excluded.as_of
        updates: dict[str, Any] = {
            column: case((newer, getattr(excluded, column)), else_=getattr(Organization, column))
            for column in REQUISITES
        }
        updates["as_of"] = func.greatest(Organization.as_of, excluded.as_of)
        if values.get("customer_number") is not None:
            updates["customer_number"] = excluded.customer_number
        await self.session.execute(
            statement.on_conflict_do_update(index_elements=[Organization.id], set_=updates)
        )

    async def user(self, user_id: uuid.UUID) -> User | None:
        return await self.session.get(User, user_id)

    async def merge_user(self, values: dict[str, Any]) -> None:
        """Inserts the user or updates it where `values` are newer than what it holds."""
        await apply_newer(self.session, User, values, stamp="as_of")
