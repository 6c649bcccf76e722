"""Every query of the licenses on keys."""

import uuid

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import KeyLicense


class LicenseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def with_id(self, license_id: uuid.UUID) -> KeyLicense | None:
        return await self.session.scalar(
            select(KeyLicense).where(KeyLicense.id == license_id).with_for_update()
        )

    async def key_has_active_license(self, key_id: uuid.UUID) -> bool:
        return bool(
            await self.session.scalar(
                select(exists().where(KeyLicense.key_id == key_id, KeyLicense.status == "active"))
            )
        )

    async def ids_on_key(self, key_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(KeyLicense.id).where(KeyLicense.key_id == key_id).order_by(KeyLicense.id)
        )
        return list(rows)

    async def move(
        self, license_ids: list[uuid.UUID], from_key: uuid.UUID | None, to_key: uuid.UUID | None
    ) -> None:
        for license_ in await self.session.scalars(
            select(KeyLicense).where(KeyLicense.id.in_(license_ids), KeyLicense.key_id == from_key)
        ):
            license_.key_id = to_key
        await self.session.flush()

    async def move_onto(self, license_ids: list[uuid.UUID], key_id: uuid.UUID) -> None:
        for license_ in await self.session.scalars(
            select(KeyLicense).where(KeyLicense.id.in_(license_ids))
        ):
            license_.key_id = key_id
        await self.session.flush()
