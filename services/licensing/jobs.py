"""licensing's scheduled work, each job run by one replica at a time (and each expiry applied
once even if two sweeps met: see the repositories' row conditions)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.licenses.service import license_service
from services.licensing.losses.service import loss_service
from services.licensing.support.service import support_service
from shared.bus.consumer import handler_outbox
from shared.clock import Clock
from shared.jobs import Job

SWEEP_EVERY_SECONDS = 60.0


async def expire_licenses(session: AsyncSession, clock: Clock) -> None:
    await license_service.sweep_expired(session, clock, handler_outbox(session))


async def end_certificates(session: AsyncSession, clock: Clock) -> None:
    await support_service.sweep_ended(session, clock, handler_outbox(session))


async def suspend_lost_keys_licenses(session: AsyncSession, clock: Clock) -> None:
    await loss_service.sweep_run_out(session, clock, handler_outbox(session))


jobs: list[Job] = [
    Job("license-expiry", SWEEP_EVERY_SECONDS, expire_licenses),
    Job("certificate-expiry", SWEEP_EVERY_SECONDS, end_certificates),
    Job("lost-key-suspension", SWEEP_EVERY_SECONDS, suspend_lost_keys_licenses),
]
