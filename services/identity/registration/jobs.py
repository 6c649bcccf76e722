"""Registration's scheduled work: pending registrations expire (rule 3)."""

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.verification import CHANNELS, CODE_PURPOSE, code_subject
from shared.clock import Clock

log = structlog.get_logger(__name__)


async def delete_expired_registrations(session: AsyncSession, clock: Clock) -> None:
    """Registrations older than their 24 hours are dropped with the codes sent for them."""
    registrations = RegistrationRepository(session)
    expired = await registrations.delete_expired(clock.now())
    if expired:
        await registrations.delete_codes(
            CODE_PURPOSE, [code_subject(rid, channel) for rid in expired for channel in CHANNELS]
        )
        log.info("expired_registrations_deleted", count=len(expired))
