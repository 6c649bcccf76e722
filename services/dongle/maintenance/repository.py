"""Every query of key maintenance: support certificates and the serials they cover."""

import uuid

from sqlalchemy import any_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import MaintenanceCertificate, ProtectionKey


class MaintenanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def certificate(self, certificate_id: uuid.UUID) -> MaintenanceCertificate | None:
        return await self.session.scalar(
            select(MaintenanceCertificate)
            .where(MaintenanceCertificate.id == certificate_id)
            .with_for_update()
        )

    async def add(self, certificate: MaintenanceCertificate) -> None:
        self.session.add(certificate)
        await self.session.flush()

    async def refresh_keys(self, serials: list[str]) -> list[uuid.UUID]:
        """Sets each key's maintenance end to the latest end of the certificates covering it;
        returns the ids of those keys."""
        if not serials:
            return []
        latest_end = (
            select(func.max(MaintenanceCertificate.ends_at))
            .where(ProtectionKey.serial == any_(MaintenanceCertificate.key_serials))
            .scalar_subquery()
        )
        rows = await self.session.scalars(
            update(ProtectionKey)
            .where(ProtectionKey.serial.in_(serials))
            .values(maintenance_ends_at=latest_end)
            .returning(ProtectionKey.id)
            .execution_options(synchronize_session=False)
        )
        return list(rows)
