"""Key maintenance from licensing's support-certificate events (rules 2 and 6).

A key's maintenance ends at the latest end of the certificates that cover its serial, so a
certificate registered before its key is known still counts once the key arrives. Each
certificate keeps the `occurred_at` of the newest event applied to it; an older event that
arrives late (an `expired` after the `renewed` that followed it) changes nothing.
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.maintenance.repository import MaintenanceRepository
from services.dongle.models import MaintenanceCertificate


class MaintenanceService:
    async def apply(
        self,
        session: AsyncSession,
        *,
        certificate_id: uuid.UUID,
        organization_id: uuid.UUID,
        key_serials: list[str],
        ends_at: datetime,
        ended: bool,
        occurred_at: datetime,
    ) -> list[uuid.UUID] | None:
        """Records the certificate's state; returns the keys whose maintenance may have
        changed, or None when the event is older than what was applied."""
        repository = MaintenanceRepository(session)
        certificate = await repository.certificate(certificate_id)
        if certificate is not None and certificate.applied_at >= occurred_at:
            return None
        touched = set(key_serials)
        if certificate is None:
            certificate = MaintenanceCertificate(id=certificate_id)
            session.add(certificate)
        else:
            touched |= set(certificate.key_serials)
        certificate.organization_id = organization_id
        certificate.key_serials = sorted(set(key_serials))
        certificate.ends_at = ends_at
        certificate.ended = ended
        certificate.applied_at = occurred_at
        await session.flush()
        return await repository.refresh_keys(sorted(touched))


maintenance_service = MaintenanceService()
