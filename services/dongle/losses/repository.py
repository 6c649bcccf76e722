"""Every query of loss reports."""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import LossReport


class LossReportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, report: LossReport) -> None:
        self.session.add(report)
        await self.session.flush()

    async def latest_on_key(
        self, key_id: uuid.UUID, *, for_update: bool = False
    ) -> LossReport | None:
        statement = (
            select(LossReport)
            .where(LossReport.key_id == key_id)
            .order_by(LossReport.reported_at.desc(), LossReport.id.desc())
            .limit(1)
        )
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)
