"""Rule 1: the production calendar kept in the database, and support's hours on it.

A day with a row is as the row says (seeded from the official calendar, or set by an admin);
a day without one is read from the official calendar, so a calendar that has not been seeded
that far still answers the same.
"""

from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.calendar.repository import CalendarRepository
from services.helpdesk.calendar.russian_calendar import official_day, official_year
from services.helpdesk.calendar.schemas import CalendarDaySet, CalendarDayView, DaySource
from services.helpdesk.calendar.working_time import (
    FULL_DAY_HOURS,
    SHORTENED_DAY_HOURS,
    DaySchedule,
    ProductionCalendar,
    SupportStatus,
    support_status,
)
from services.helpdesk.models import CalendarDay
from shared.auth import Principal
from shared.clock import Clock, business_date
from shared.problems import InvalidInput

MAX_RANGE_DAYS = 366
# The status looks for the next opening; the longest run of days off is under two weeks.
STATUS_HORIZON_DAYS = 45


def _schedule(row: CalendarDay) -> DaySchedule:
    return DaySchedule(row.kind, row.hours, row.note)  # type: ignore[arg-type]


def schedule_asked(asked: CalendarDaySet) -> DaySchedule:
    """The day an admin asks for, with the hours its kind has; wrong hours are a 422."""
    if asked.kind == "shortened":
        hours = SHORTENED_DAY_HOURS if asked.hours is None else asked.hours
        if not 1 <= hours <= SHORTENED_DAY_HOURS:
            raise InvalidInput(
                "hours", f"a shortened day has 1 to {SHORTENED_DAY_HOURS} working hours"
            )
    else:
        hours = FULL_DAY_HOURS if asked.kind == "working" else 0
        if asked.hours is not None and asked.hours != hours:
            raise InvalidInput(
                "hours",
                f"a {asked.kind} day has {hours} working hours; give hours only for `shortened`",
            )
    note = " ".join(asked.note.split()) if asked.note else None
    return DaySchedule(asked.kind, hours, note or None)


class CalendarService:
    async def calendar(self, session: AsyncSession, first: date, last: date) -> ProductionCalendar:
        """The calendar with the rows from `first` to `last` loaded; other days official."""
        rows = await CalendarRepository(session).days_between(first, last)
        return ProductionCalendar({row.day: _schedule(row) for row in rows}, official_day)

    async def days(self, session: AsyncSession, first: date, last: date) -> list[CalendarDayView]:
        if last < first:
            raise InvalidInput("to", "is before `from`")
        if (last - first).days + 1 > MAX_RANGE_DAYS:
            raise InvalidInput("to", f"the range is at most {MAX_RANGE_DAYS} days")
        rows = {row.day: row for row in await CalendarRepository(session).days_between(first, last)}
        views = []
        for offset in range((last - first).days + 1):
            on = first + timedelta(days=offset)
            row = rows.get(on)
            if row is None:
                views.append(CalendarDayView(on, official_day(on), "official"))
            else:
                source: DaySource = "admin" if row.source == "admin" else "official"
                views.append(CalendarDayView(on, _schedule(row), source))
        return views

    async def set_day(
        self,
        session: AsyncSession,
        clock: Clock,
        admin: Principal,
        on: date,
        asked: CalendarDaySet,
    ) -> CalendarDayView:
        schedule = schedule_asked(asked)
        await CalendarRepository(session).put(
            {
                "day": on,
                "kind": schedule.kind,
                "hours": schedule.hours,
                "note": schedule.note,
                "source": "admin",
                "updated_at": clock.now(),
                "updated_by": admin.user_id,
            }
        )
        return CalendarDayView(on, schedule, "admin")

    async def status(self, session: AsyncSession, clock: Clock) -> SupportStatus:
        now = clock.now()
        today = business_date(now)
        calendar = await self.calendar(
            session, today - timedelta(days=1), today + timedelta(days=STATUS_HORIZON_DAYS)
        )
        return support_status(now, calendar)

    async def seed_missing_days(self, session: AsyncSession, clock: Clock) -> int:
        """Rows for every day of this year and the next (Moscow) that has none; admin-set days
        and days seeded before are left as they are. Returns how many were added."""
        year = business_date(clock.now()).year
        now = clock.now()
        rows = [
            {
                "day": on,
                "kind": schedule.kind,
                "hours": schedule.hours,
                "note": schedule.note,
                "source": "official",
                "updated_at": now,
                "updated_by": None,
            }
            for seeded_year in (year, year + 1)
            for on, schedule in official_year(seeded_year).items()
        ]
        return await CalendarRepository(session).add_missing(rows)


calendar_service = CalendarService()
