"""Every query of the production calendar."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import CalendarDay


class CalendarRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def days_between(self, first: date, last: date) -> list[CalendarDay]:
        rows = await self.session.scalars(
            select(CalendarDay)
            .where(CalendarDay.day >= first, CalendarDay.day <= last)
            .order_by(CalendarDay.day)
        )
        return list(rows)

    async def put(self, values: dict[str, Any]) -> CalendarDay:
        """Writes the day whether it had a row or not (two admins at once: the last one wins)."""
        insert_day = insert(CalendarDay).values(**values)
        upsert = insert_day.on_conflict_do_update(
            index_elements=[CalendarDay.day],
            set_={key: insert_day.excluded[key] for key in values if key != "day"},
        ).returning(CalendarDay)
        row = await self.session.scalar(upsert, execution_options={"populate_existing": True})
        assert row is not None
        return row

    async def add_missing(self, rows: Iterable[dict[str, Any]]) -> int:
        """Inserts the days that have no row yet; a day that has one keeps it."""
        values = list(rows)
        if not values:
            return 0
        result = await self.session.scalars(
            insert(CalendarDay)
            .values(values)
            .on_conflict_do_nothing(index_elements=[CalendarDay.day])
            .returning(CalendarDay.day)
        )
        return len(list(result))
