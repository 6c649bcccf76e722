"""Rule 3: prolongation update files — on activation, then on the 1st of every month.

An update file is a compact JWS (EdDSA) of `{serial, sequence, valid_until, licenses,
issued_at}`, valid 30 days from when it was made. The monthly run walks the keys with an
active subscription in batches by key id: one UPDATE moves on the sequences of the batch's
keys that are due, one query reads their licenses, the files are signed in memory and written
with one INSERT, with their events — so memory stays bounded by the batch and the database
does set work, not a row-by-row loop. (Signing in a worker process one batch behind was
measured slower on two shared cores, so it signs inline.) A key has at most one file per
business month (an activation file counts as its month's), so running a month again generates
nothing, and the run of the current month catches up whatever the service missed while it was
down.
"""

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.update_files.files import KeyRow, sign_files
from services.dongle.update_files.repository import UpdateFileRepository
from services.dongle.update_files.signing import update_file_keys
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_date, business_midnight
from shared.db import advisory_key
from shared.events.dongle import UpdateFileGenerated, UpdateTrigger
from shared.problems import InvalidInput

VALIDITY = timedelta(days=30)
BATCH_SIZE = 2000
# The monthly job's advisory lock: the admin's run of a month waits for it, and vice versa.
MONTHLY_LOCK = "job:dongle:monthly_update_files"


def month_of(moment: datetime) -> str:
    """The business month (`YYYY-MM`, Moscow time) a moment falls in."""
    return business_date(moment).strftime("%Y-%m")


def month_start(month: str) -> datetime:
    year, number = (int(part) for part in month.split("-"))
    return business_midnight(date(year, number, 1))


@dataclass(frozen=True)
class MonthlyRun:
    month: str
    generated: int
    already_done: int


class UpdateFileService:
    async def generate_for_key(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        key_id: uuid.UUID,
        trigger: UpdateTrigger,
    ) -> None:
        """One file for one key now (activation, resumption, replacement)."""
        now = clock.now()
        repository = UpdateFileRepository(session)
        row = await repository.claim_key(key_id, now + VALIDITY)
        signer = await update_file_keys.signer(session)
        files, events = sign_files(
            signer,
            [tuple(row)],
            await repository.active_licenses([row.id]),
            now,
            now + VALIDITY,
            month_of(now),
            trigger,
        )
        await repository.add_signed(files)
        await outbox.add_many_json(session, UpdateFileGenerated, events)

    async def run_month(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        month: str,
        *,
        wait_for_lock: bool = True,
        batch_size: int = BATCH_SIZE,
    ) -> MonthlyRun:
        """Makes `month`'s file for every protected key that lacks one (rule 3)."""
        now = clock.now()
        if month_start(month) > now:
            raise InvalidInput("month", "this month has not begun yet (Moscow time)")
        if wait_for_lock:
            await session.execute(select(func.pg_advisory_xact_lock(advisory_key(MONTHLY_LOCK))))
        repository = UpdateFileRepository(session)
        # Counted for the admin's answer; the scheduled run does not need it.
        already_done = await repository.count_done(month) if wait_for_lock else 0
        signer = await update_file_keys.signer(session)
        valid_until = now + VALIDITY
        generated = 0
        subscribed = await repository.next_subscribed(None, batch_size)
        while subscribed:
            rows: list[KeyRow] = [
                tuple(row) for row in await repository.claim_due(subscribed, month, valid_until)
            ]
            subscribed = await repository.next_subscribed(subscribed[-1], batch_size)
            if not rows:
                continue
            licenses = await repository.active_licenses([row[0] for row in rows])
            files, events = sign_files(signer, rows, licenses, now, valid_until, month, "monthly")
            await repository.add_signed(files)
            await outbox.add_many_json(session, UpdateFileGenerated, events)
            generated += len(rows)
        return MonthlyRun(month, generated, already_done)


update_file_service = UpdateFileService()
