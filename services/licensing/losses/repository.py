"""Every query of lost keys."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.models import LostKey
from services.licensing.sweeps import claim_due


class LostKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def hold(self, report_id: uuid.UUID, **first: Any) -> LostKey:
        """The report's row, locked; created from `first` by whichever of its events comes
        first (two deliveries at once meet on the primary key: one inserts, one waits)."""
        await self.session.execute(
            insert(LostKey).values(id=report_id, **first).on_conflict_do_nothing()
        )
        held = await self.session.scalar(
            select(LostKey)
            .where(LostKey.id == report_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        assert held is not None
        return held

    async def claim_run_out(self, now: datetime, limit: int) -> list[LostKey]:
        """Marks up to `limit` reports whose key's programmed period ended by `now`, and whose
        licenses were not restored, suspended, each once (`claim_due`); those reports."""
        return await claim_due(
            self.session,
            LostKey.id,
            pending=LostKey.suspended_at.is_(None) & LostKey.restored_at.is_(None),
            due=LostKey.suspend_at <= now,
            order_by=(LostKey.suspend_at, LostKey.id),
            values={"suspended_at": now},
            limit=limit,
        )
