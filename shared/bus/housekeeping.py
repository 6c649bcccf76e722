"""Trimming the outbox and the inbox, which would otherwise grow with every event forever."""

from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.tables import BusTables
from shared.clock import Clock
from shared.jobs import Job


def bus_housekeeping(tables: BusTables, retention_days: int) -> Job:
    """Deletes sent outbox rows and remembered inbox ids older than the retention.

    Pending outbox rows are never deleted. An inbox id must outlive any redelivery of its
    event, so the retention is days, far beyond the broker's redelivery and DLQ replay times.
    """

    async def trim(session: AsyncSession, clock: Clock) -> None:
        before = clock.now() - timedelta(days=retention_days)
        outbox, inbox = tables.outbox, tables.inbox
        await session.execute(
            delete(outbox).where(outbox.c.state != "pending", outbox.c.published_at < before)
        )
        await session.execute(delete(inbox).where(inbox.c.received_at < before))

    return Job(name="bus_housekeeping", every_seconds=3600, run=trim)
