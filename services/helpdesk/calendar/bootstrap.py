"""The production calendar of this year and the next, seeded at start and kept so by a job."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.calendar.service import calendar_service
from shared.clock import Clock
from shared.service import Runtime


async def seed_production_calendar(session: AsyncSession, clock: Clock) -> None:
    # ON CONFLICT DO NOTHING: replicas seeding at once, or after an admin, change no day twice.
    await calendar_service.seed_missing_days(session, clock)


async def ensure_production_calendar(runtime: Runtime) -> None:
    async with runtime.sessionmaker() as session, session.begin():
        await seed_production_calendar(session, runtime.clock)
