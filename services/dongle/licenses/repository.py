"""Every query of the licenses on keys."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import KeyLicense, ProtectionKey


class LicenseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def with_id(self, license_id: uuid.UUID) -> tuple[KeyLicense | None, str | None]:
        """The license (locked) and the serial of the key it is on, in one query."""
        row = (
            await self.session.execute(
                select(KeyLicense, ProtectionKey.serial)
                .outerjoin(ProtectionKey, ProtectionKey.id == KeyLicense.key_id)
                .where(KeyLicense.id == license_id)
                .with_for_update(of=KeyLicense)
            )
        ).first()
        return (None, None) if row is None else (row[0], row[1])

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
