"""The official Russian production calendar, from the maintained `holidays` package (RU).

`holidays` knows the public holidays (Labour Code art. 112), the days off moved onto weekdays
(including a holiday that fell on a weekend), and the weekend days made working by a transfer
(`weekend_workdays`). It does not know the shortened pre-holiday days (art. 95: one hour
less), so they are derived here:

- a working weekday directly followed by a public holiday (not by a moved day off);
- a weekend day made working by a transfer, when the days off that follow it include a public
  holiday (27 April, 2 November and 28 December 2024; 1 November 2025).

An admin corrects any day through `PUT /api/v1/calendar/days/{date}`.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays

from services.helpdesk.calendar.working_time import (
    DaySchedule,
    day_off,
    shortened_day,
    weekday_schedule,
    working_day,
)

PRE_HOLIDAY_NOTE = "Предпраздничный день"
TRANSFER_NOTE = "Рабочий день (перенос выходного)"
# The longest run of days off in a Russian year (the New Year holidays) is well under this.
LONGEST_DAYS_OFF = 31


@dataclass(frozen=True)
class _OfficialYear:
    known: bool  # within the years the package covers
    days_off: dict[date, str]  # every non-working day the law names, with its name
    public_holidays: frozenset[date]  # art. 112 only: no moved days off
    weekend_workdays: frozenset[date]


@lru_cache(maxsize=32)
def _official_year(year: int) -> _OfficialYear:
    if not holidays.RU.start_year <= year <= holidays.RU.end_year:
        return _OfficialYear(False, {}, frozenset(), frozenset())
    listed = holidays.country_holidays("RU", years=year, language="ru")
    statutory = holidays.country_holidays("RU", years=year, observed=False)
    # Entries (month, day, from_month, from_day): a day off moved here from another date.
    moved = {
        date(year, entry[0], entry[1])
        for entry in statutory.special_public_holidays.get(year, ())
        if len(entry) >= 4 and isinstance(entry[2], int)
    }
    return _OfficialYear(
        known=True,
        days_off=dict(listed.items()),
        public_holidays=frozenset(set(statutory) - moved),
        weekend_workdays=frozenset(listed.weekend_workdays),
    )


def _is_working(on: date) -> bool:
    official = _official_year(on.year)
    if on in official.days_off:
        return False
    return on.weekday() < 5 or on in official.weekend_workdays


def _is_public_holiday(on: date) -> bool:
    return on in _official_year(on.year).public_holidays


def _is_pre_holiday(on: date) -> bool:
    following = on + timedelta(days=1)
    if on.weekday() < 5:
        return _is_public_holiday(following)
    for _ in range(LONGEST_DAYS_OFF):
        if _is_working(following):
            return False
        if _is_public_holiday(following):
            return True
        following += timedelta(days=1)
    return False


def official_day(on: date) -> DaySchedule:
    """The day as the official calendar has it (outside the package's years: weekdays work)."""
    official = _official_year(on.year)
    if not official.known:
        return weekday_schedule(on)
    if on in official.days_off:
        return day_off(official.days_off[on])
    if not _is_working(on):
        return day_off()
    if _is_pre_holiday(on):
        return shortened_day(note=PRE_HOLIDAY_NOTE)
    return working_day(TRANSFER_NOTE if on.weekday() >= 5 else None)


def official_year(year: int) -> dict[date, DaySchedule]:
    first = date(year, 1, 1)
    days = (date(year + 1, 1, 1) - first).days
    return {first + timedelta(days=n): official_day(first + timedelta(days=n)) for n in range(days)}
