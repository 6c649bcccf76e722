"""dongle's scheduled work, each job run by one replica at a time (shared.jobs)."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.protection.repository import SubscriptionRepository
from services.dongle.protection.service import protection_service
from services.dongle.update_files.service import month_of, update_file_service
from shared.bus.consumer import handler_outbox
from shared.clock import Clock
from shared.jobs import Job

MONTHLY_UPDATE_FILES = "monthly_update_files"


async def monthly_update_files(session: AsyncSession, clock: Clock) -> None:
    """Rule 3: the current month's file for every protected key that lacks one — on the 1st
    whatever the weekday or holiday, and later in the month if the service was down then.
    The job's own advisory lock already keeps other replicas out."""
    await update_file_service.run_month(
        session, clock, handler_outbox(session), month_of(clock.now()), wait_for_lock=False
    )


async def maintenance_sweep(session: AsyncSession, clock: Clock) -> None:
    """Rule 6 by the clock: lapse subscriptions whose maintenance ended, cancel lapsed ones
    whose 14 days passed — also when the expiry event is late or never comes."""
    key_ids = await SubscriptionRepository(session).due_for_maintenance_check(clock.now())
    await protection_service.follow_maintenance(
        session, clock, handler_outbox(session), key_ids, clock.now()
    )


jobs: list[Job] = [
    Job(name=MONTHLY_UPDATE_FILES, every_seconds=300, run=monthly_update_files),
    Job(name="maintenance_sweep", every_seconds=300, run=maintenance_sweep),
]
