"""Working time (rule 1): 10:00–19:00 business time on the production calendar's working days.

Every SLA figure goes through `add_working_hours` ("add N working hours to t") and
`working_hours_between` ("working time between t1 and t2"). The module is pure: the caller
passes a `ProductionCalendar` (built from the database rows, or by hand in tests), and the
answers are exact to the microsecond, so to the minute. Moments go in with any zone and come
out in UTC.
"""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal

from shared.clock import business_zone

OPENS_AT = time(10, 0)
FULL_DAY_HOURS = 9  # 10:00–19:00
SHORTENED_DAY_HOURS = FULL_DAY_HOURS - 1  # the day before a holiday is an hour shorter (art. 95)
# A calendar without a working day in ten years is broken; say so instead of looping forever.
MAX_SEARCH_DAYS = 3660

DayKind = Literal["working", "holiday", "shortened"]


@dataclass(frozen=True)
class DaySchedule:
    """One day of the production calendar: its kind and how many hours support works.

    `holiday` is any day off (a public holiday, a moved day off, a plain weekend).
    """

    kind: DayKind
    hours: int
    note: str | None = None

    def __post_init__(self) -> None:
        if not hours_fit_kind(self.kind, self.hours):
            raise ValueError(f"a {self.kind} day cannot have {self.hours} working hours")


def hours_fit_kind(kind: DayKind, hours: int) -> bool:
    if kind == "holiday":
        return hours == 0
    if kind == "working":
        return hours == FULL_DAY_HOURS
    return 1 <= hours <= SHORTENED_DAY_HOURS


def working_day(note: str | None = None) -> DaySchedule:
    return DaySchedule("working", FULL_DAY_HOURS, note)


def shortened_day(hours: int = SHORTENED_DAY_HOURS, note: str | None = None) -> DaySchedule:
    return DaySchedule("shortened", hours, note)


def day_off(note: str | None = None) -> DaySchedule:
    return DaySchedule("holiday", 0, note)


def weekday_schedule(on: date) -> DaySchedule:
    """A day the calendar says nothing about: Monday to Friday work, weekends don't."""
    return working_day() if on.weekday() < 5 else day_off()


class ProductionCalendar:
    """The days as the calendar has them, and `default` for any day it does not list."""

    def __init__(
        self,
        days: Mapping[date, DaySchedule] | None = None,
        default: Callable[[date], DaySchedule] = weekday_schedule,
    ) -> None:
        self._days = dict(days or {})
        self._default = default

    def day(self, on: date) -> DaySchedule:
        listed = self._days.get(on)
        return listed if listed is not None else self._default(on)

    def working_period(self, on: date) -> tuple[datetime, datetime] | None:
        return working_period(on, self.day(on))


def working_period(on: date, schedule: DaySchedule) -> tuple[datetime, datetime] | None:
    """When support opens and closes on `on` (Moscow time), or None on a day off."""
    if schedule.hours <= 0:
        return None
    opens = datetime.combine(on, OPENS_AT, business_zone())
    return opens, opens + timedelta(hours=schedule.hours)


def add_working_hours(
    start: datetime, hours: float | timedelta, calendar: ProductionCalendar
) -> datetime:
    """The earliest moment by which `hours` of working time have passed since `start`.

    Time outside working hours does not count: from a Friday evening, the hours start on the
    next working morning. A result that lands on a closing time stays there (19:00, not the
    next morning), so `working_hours_between(start, result) == hours` always holds.
    """
    remaining = hours if isinstance(hours, timedelta) else timedelta(hours=hours)
    if remaining < timedelta(0):
        raise ValueError("working hours to add cannot be negative")
    moment = _in_business_zone(start)
    if not remaining:
        return moment.astimezone(UTC)
    for on in _days_from(moment.date()):
        period = calendar.working_period(on)
        if period is None:
            continue
        opens, closes = period
        begin = max(moment, opens)
        if begin >= closes:
            continue
        available = closes - begin
        if remaining <= available:
            return (begin + remaining).astimezone(UTC)
        remaining -= available
    raise ValueError(f"no working time within {MAX_SEARCH_DAYS} days of {start.isoformat()}")


def working_hours_between(
    earlier: datetime, later: datetime, calendar: ProductionCalendar
) -> timedelta:
    """The working time from `earlier` to `later`; negative when `later` comes first."""
    first, last = _in_business_zone(earlier), _in_business_zone(later)
    if last < first:
        return -working_hours_between(later, earlier, calendar)
    total = timedelta(0)
    for offset in range((last.date() - first.date()).days + 1):
        period = calendar.working_period(first.date() + timedelta(days=offset))
        if period is None:
            continue
        overlap = min(last, period[1]) - max(first, period[0])
        if overlap > timedelta(0):
            total += overlap
    return total


def next_opening(after: datetime, calendar: ProductionCalendar) -> datetime:
    """The first time support opens strictly after `after`."""
    moment = _in_business_zone(after)
    for on in _days_from(moment.date()):
        period = calendar.working_period(on)
        if period is not None and period[0] > moment:
            return period[0].astimezone(UTC)
    raise ValueError(f"no working day within {MAX_SEARCH_DAYS} days of {after.isoformat()}")


@dataclass(frozen=True)
class SupportStatus:
    """Whether support works at `now`; when it closes if so, and when it opens next."""

    open: bool
    now: datetime
    next_open_at: datetime
    closes_at: datetime | None


def support_status(now: datetime, calendar: ProductionCalendar) -> SupportStatus:
    moment = _in_business_zone(now)
    period = calendar.working_period(moment.date())
    is_open = period is not None and period[0] <= moment < period[1]
    return SupportStatus(
        open=is_open,
        now=moment.astimezone(UTC),
        next_open_at=next_opening(moment, calendar),
        closes_at=period[1].astimezone(UTC) if is_open and period is not None else None,
    )


def _in_business_zone(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("working time needs aware datetimes (a naive time has no zone)")
    return moment.astimezone(business_zone())


def _days_from(first: date) -> Iterator[date]:
    for offset in range(MAX_SEARCH_DAYS):
        yield first + timedelta(days=offset)
