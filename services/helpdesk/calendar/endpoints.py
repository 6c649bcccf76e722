"""The production calendar (read by anyone, set by an admin) and whether support is open."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query

from services.helpdesk.calendar.schemas import (
    CalendarDayRead,
    CalendarDaySet,
    CalendarDaysRead,
    SupportStatusRead,
)
from services.helpdesk.calendar.service import MAX_RANGE_DAYS, calendar_service
from services.helpdesk.dependencies import SettingsDep
from services.helpdesk.tickets.service import ticket_service
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["production calendar"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/calendar/status", response_model=SupportStatusRead)
async def read_support_status(session: SessionDep, clock: ClockDep) -> SupportStatusRead:
    """Whether support works now, when it closes, and when it next opens."""
    return SupportStatusRead.of(await calendar_service.status(session, clock))


@router.get("/api/v1/calendar/days", response_model=CalendarDaysRead)
async def list_calendar_days(
    session: SessionDep,
    first: Annotated[date, Query(alias="from")],
    last: Annotated[date, Query(alias="to", description=f"At most {MAX_RANGE_DAYS} days on.")],
) -> CalendarDaysRead:
    """Every day from `from` to `to` (Moscow dates, both included)."""
    days = await calendar_service.days(session, first, last)
    return CalendarDaysRead(items=[CalendarDayRead.of(day) for day in days])


@router.put("/api/v1/calendar/days/{date}", response_model=CalendarDayRead)
async def set_calendar_day(
    day: Annotated[date, Path(alias="date")],
    body: CalendarDaySet,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> CalendarDayRead:
    """Sets one day: a holiday, a weekend day made working by a transfer, a shortened day.
    Every running ticket deadline is recomputed on the changed calendar."""
    view = await calendar_service.set_day(session, clock, admin, day, body)
    await ticket_service.recompute_deadlines(session, settings)
    return CalendarDayRead.of(view)
