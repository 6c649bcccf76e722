"""An injectable clock: production code asks it for the time, tests move it by hand."""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that stands still until told to move; for tests of time rules."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime(2026, 11, 2, 9, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = moment

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        self._now += delta if delta is not None else timedelta(**kwargs)
        return self._now


@lru_cache
def business_zone(name: str | None = None) -> ZoneInfo:
    """The zone in which business calendar dates are read (`KABINET_BUSINESS_TIMEZONE`,
    Europe/Moscow by default): expiries, price list versions, working hours, month starts."""
    from shared.config import PlatformSettings

    return ZoneInfo(name or PlatformSettings().business_timezone)


def business_date(moment: datetime) -> date:
    """The calendar date in the business time zone at an aware moment."""
    return moment.astimezone(business_zone()).date()


def business_midnight(day: date) -> datetime:
    """The moment a business calendar day starts, as an aware UTC datetime."""
    return datetime.combine(day, time.min, tzinfo=business_zone()).astimezone(UTC)
