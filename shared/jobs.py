"""Scheduled jobs, safe with several replicas: each run holds a PostgreSQL advisory lock.

A job's session carries the runtime's clock and outbox as an event handler's does, so a job
publishes what it caused with `handler_outbox(session)` in the same transaction as its effect.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.bus.consumer import with_handler_context
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.config import PlatformSettings
from shared.db import advisory_key, create_sessionmaker

log = structlog.get_logger(__name__)

JobFn = Callable[[AsyncSession, Clock], Awaitable[None]]


def own_transactions(session: AsyncSession) -> async_sessionmaker[AsyncSession]:
    """Sessions of their own for a job whose work must not sit in the job's transaction (which
    holds only its one-replica lock): one that talks to a slow party between short
    transactions, such as a mail server or an SMS provider."""
    assert isinstance(session.bind, AsyncEngine)
    return create_sessionmaker(session.bind)


@dataclass(frozen=True)
class Job:
    name: str
    every_seconds: float
    run: JobFn


class JobRunner:
    def __init__(
        self,
        *,
        service: str,
        jobs: list[Job],
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        outbox: Outbox | None = None,
        settings: PlatformSettings | None = None,
    ) -> None:
        self.service = service
        self.jobs = {job.name: job for job in jobs}
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.outbox = outbox
        self.settings = settings

    async def run_once(self, name: str) -> bool:
        """Runs one job in a transaction if no replica is running it; True when it ran here."""
        job = self.jobs[name]
        async with self.sessionmaker() as session, session.begin():
            key = advisory_key(f"job:{self.service}:{name}")
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(key))):
                return False
            with_handler_context(session, self.clock, self.outbox, self.settings)
            await job.run(session, self.clock)
            return True

    async def run(self, stop: asyncio.Event) -> None:
        if not self.jobs:
            return
        await asyncio.gather(*(self._loop(job, stop) for job in self.jobs.values()))

    async def _loop(self, job: Job, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.run_once(job.name)
            except Exception:
                log.exception("job_failed", job=job.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=job.every_seconds)
