"""The production calendar and support's hours as the API shows them (rule 1, rule 10)."""

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from services.helpdesk.calendar.working_time import (
    DayKind,
    DaySchedule,
    SupportStatus,
    working_period,
)

DaySource = Literal["official", "admin"]


@dataclass(frozen=True)
class CalendarDayView:
    day: date
    schedule: DaySchedule
    source: DaySource


class CalendarDaySet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: DayKind = Field(
        description="`working` (10:00–19:00), `shortened` (fewer hours from 10:00), `holiday` "
        "(any day off: a weekend day made working is `working`, a moved day off `holiday`)."
    )
    hours: int | None = Field(
        default=None,
        ge=0,
        le=24,
        description="Only for `shortened`: 1 to 8 working hours (default 8, a pre-holiday day).",
    )
    note: str | None = Field(default=None, max_length=200, description="Why, e.g. the decree.")


class CalendarDayRead(BaseModel):
    date: date
    kind: DayKind
    hours: int
    opens_at: datetime | None = Field(description="When support opens that day; null on a day off.")
    closes_at: datetime | None
    note: str | None
    source: DaySource = Field(description="`official` (the published calendar) or `admin`.")

    @classmethod
    def of(cls, view: CalendarDayView) -> "CalendarDayRead":
        period = working_period(view.day, view.schedule)
        return cls(
            date=view.day,
            kind=view.schedule.kind,
            hours=view.schedule.hours,
            opens_at=period[0].astimezone(UTC) if period else None,
            closes_at=period[1].astimezone(UTC) if period else None,
            note=view.schedule.note,
            source=view.source,
        )


class CalendarDaysRead(BaseModel):
    items: list[CalendarDayRead] = Field(description="Every day from `from` to `to`, in order.")


class SupportStatusRead(BaseModel):
    open: bool = Field(description="Whether support works now.")
    now: datetime
    next_open_at: datetime = Field(description="The next time support opens (after `now`).")
    closes_at: datetime | None = Field(description="When support closes; null while closed.")

    @classmethod
    def of(cls, status: SupportStatus) -> "SupportStatusRead":
        return cls(
            open=status.open,
            now=status.now,
            next_open_at=status.next_open_at,
            closes_at=status.closes_at,
        )
