"""Every query of licenses."""

import uuid
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.models import License
from services.licensing.sweeps import claim_due
from shared.pagination import PageParams, paginate


class LicenseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, license_: License) -> None:
        self.session.add(license_)
        await self.session.flush()

    async def page_for(
        self, viewer: Viewer, params: PageParams
    ) -> tuple[list[License], str | None]:
        statement = select(License).where(viewer.sees(License.organization_id, License.partner_id))
        return await paginate(self.session, statement, [License.id], params)

    async def get(self, license_id: uuid.UUID, *, for_update: bool = False) -> License | None:
        statement = (
            select(License)
            .where(License.id == license_id)
            .execution_options(populate_existing=True)
        )
        if for_update:
            statement = statement.with_for_update(of=License)
        return await self.session.scalar(statement)

    async def by_code(self, code: str, *, for_update: bool = False) -> License | None:
        statement = select(License).where(License.activation_code == code)
        if for_update:
            statement = statement.with_for_update(of=License)
        return await self.session.scalar(statement)

    async def of_contract(self, contract_id: uuid.UUID) -> Sequence[License]:
        return (
            await self.session.scalars(select(License).where(License.contract_id == contract_id))
        ).all()

    async def expire_passed(self, today: date, limit: int) -> list[License]:
        """Marks up to `limit` active licenses whose last day is before `today` expired, each
        once whoever else sweeps at the same time (`claim_due`); those licenses."""
        return await claim_due(
            self.session,
            License.id,
            pending=License.status == "active",
            due=License.expires_at < today,
            order_by=(License.expires_at, License.id),
            values={"status": "expired"},
            limit=limit,
        )

    async def bound_to_key(
        self,
        serial: str,
        organization_id: uuid.UUID,
        license_ids: Sequence[uuid.UUID] | None = None,
    ) -> Sequence[License]:
        """The licenses bound to the key `serial` that are the organization's or nobody's yet
        (of those only `license_ids`, when given), locked, in a fixed order."""
        statement = (
            select(License)
            .where(
                License.key_serial == serial,
                or_(License.organization_id == organization_id, License.organization_id.is_(None)),
            )
            .order_by(License.id)
            .with_for_update(of=License)
            .execution_options(populate_existing=True)
        )
        if license_ids is not None:
            statement = statement.where(License.id.in_(license_ids))
        return (await self.session.scalars(statement)).all()

    async def mark_lapsed(self, license_id: uuid.UUID, now: datetime) -> bool:
        """Records that the lapse was published; False when it already was (never twice)."""
        marked = await self.session.scalar(
            update(License)
            .where(License.id == license_id, License.lapsed_at.is_(None))
            .values(lapsed_at=now)
            .returning(License.id)
        )
        return marked is not None
