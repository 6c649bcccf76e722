"""Moscow time, in which licensing's calendar dates (price list versions, expiries) are read."""

from datetime import date, datetime, timedelta, timezone

# Europe/Moscow has kept UTC+3 without daylight saving since October 2014.
MOSCOW = timezone(timedelta(hours=3), "MSK")


def moscow_date(moment: datetime) -> date:
    """The calendar date in Moscow at an aware moment."""
    return moment.astimezone(MOSCOW).date()
