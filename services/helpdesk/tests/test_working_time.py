"""Rule 1: the working-time engine — Moscow 10:00–19:00 on working days, exact to the minute,
across evenings, weekends, holidays, moved days off, shortened days and Moscow midnight."""

from datetime import UTC, date, datetime, timedelta

import pytest

from services.helpdesk.calendar.russian_calendar import official_day
from services.helpdesk.calendar.working_time import (
    DaySchedule,
    ProductionCalendar,
    add_working_hours,
    day_off,
    support_status,
    working_day,
    working_hours_between,
)
from shared.clock import business_zone

MOSCOW = business_zone()
OFFICIAL = ProductionCalendar(default=official_day)
HOUR = timedelta(hours=1)


def msk(year, month, day, hour=0, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=MOSCOW)


def test_hours_within_one_working_day():
    # Tuesday 10 November 2026.
    assert add_working_hours(msk(2026, 11, 10, 11), 2, OFFICIAL) == msk(2026, 11, 10, 13)


def test_the_answer_is_in_utc():
    result = add_working_hours(msk(2026, 11, 10, 11), 2, OFFICIAL)
    assert result.tzinfo is UTC and result == datetime(2026, 11, 10, 10, 0, tzinfo=UTC)


def test_a_result_on_closing_time_stays_at_closing_time():
    monday = msk(2026, 11, 9, 10)
    assert add_working_hours(monday, 9, OFFICIAL) == msk(2026, 11, 9, 19)
    assert add_working_hours(monday, 9.5, OFFICIAL) == msk(2026, 11, 10, 10, 30)


def test_evening_hours_carry_over_to_the_next_morning():
    assert add_working_hours(msk(2026, 11, 10, 18), 2, OFFICIAL) == msk(2026, 11, 11, 11)


def test_a_start_outside_working_hours_counts_from_the_opening():
    assert add_working_hours(msk(2026, 11, 10, 20), 1, OFFICIAL) == msk(2026, 11, 11, 11)
    assert add_working_hours(msk(2026, 11, 10, 7), 1, OFFICIAL) == msk(2026, 11, 10, 11)
    assert add_working_hours(msk(2026, 11, 10, 19), 1, OFFICIAL) == msk(2026, 11, 11, 11)


def test_weekends_do_not_count():
    friday = msk(2026, 11, 13, 17)
    assert add_working_hours(friday, 3, OFFICIAL) == msk(2026, 11, 16, 11)
    assert add_working_hours(msk(2026, 11, 14, 12), 1, OFFICIAL) == msk(2026, 11, 16, 11)


def test_the_new_year_holidays_and_the_days_off_moved_next_to_them_do_not_count():
    # 31 Dec 2025 is a moved day off, 1–8 Jan holidays, 9 Jan moved from 3 Jan, 10–11 weekend.
    assert add_working_hours(msk(2025, 12, 30, 18), 2, OFFICIAL) == msk(2026, 1, 12, 11)
    assert working_hours_between(msk(2025, 12, 30, 10), msk(2026, 1, 12, 19), OFFICIAL) == 18 * HOUR


def test_a_holiday_moved_off_a_weekend_does_not_count():
    # 8 March 2026 is a Sunday: Monday 9 March is the day off.
    assert add_working_hours(msk(2026, 3, 6, 18), 2, OFFICIAL) == msk(2026, 3, 10, 11)


def test_a_shortened_pre_holiday_day_closes_at_18():
    # Thursday 30 April 2026 before 1 May; then a weekend; Monday 4 May works.
    assert add_working_hours(msk(2026, 4, 30, 17), 2, OFFICIAL) == msk(2026, 5, 4, 11)
    assert working_hours_between(msk(2026, 4, 30, 10), msk(2026, 5, 4, 10), OFFICIAL) == 8 * HOUR


def test_a_weekend_day_made_working_by_a_transfer_counts():
    saturday = date(2026, 11, 14)
    calendar = ProductionCalendar({saturday: working_day()}, official_day)
    assert add_working_hours(msk(2026, 11, 13, 18), 2, calendar) == msk(2026, 11, 14, 11)
    # Officially: Saturday 20 February 2027 works, shortened, before 22 (moved) and 23 February.
    assert add_working_hours(msk(2027, 2, 19, 18), 9, OFFICIAL) == msk(2027, 2, 20, 18)
    assert add_working_hours(msk(2027, 2, 19, 18), 10, OFFICIAL) == msk(2027, 2, 24, 11)


def test_a_day_an_admin_made_a_holiday_does_not_count():
    calendar = ProductionCalendar({date(2026, 11, 11): day_off("Санитарный день")}, official_day)
    assert add_working_hours(msk(2026, 11, 10, 18), 2, calendar) == msk(2026, 11, 12, 11)


def test_moscow_midnight_is_not_utc_midnight():
    # 21:30 UTC on Thursday is already 00:30 on Friday in Moscow.
    late = datetime(2026, 11, 5, 21, 30, tzinfo=UTC)
    assert add_working_hours(late, 1, OFFICIAL) == datetime(2026, 11, 6, 8, 0, tzinfo=UTC)
    # 15:30 UTC is 18:30 in Moscow: half an hour is left that day.
    afternoon = datetime(2026, 11, 5, 15, 30, tzinfo=UTC)
    assert add_working_hours(afternoon, 1, OFFICIAL) == datetime(2026, 11, 6, 7, 30, tzinfo=UTC)
    # 21:00 UTC on Sunday is Monday 00:00 in Moscow.
    sunday = datetime(2026, 11, 8, 21, 0, tzinfo=UTC)
    assert add_working_hours(sunday, 1, OFFICIAL) == msk(2026, 11, 9, 11)


def test_moscow_has_no_daylight_saving():
    for month in (1, 7):
        opening = datetime(2026, month, 15, 7, 0, tzinfo=UTC)  # 10:00 in Moscow all year
        assert support_status(opening, OFFICIAL).open
        assert not support_status(opening - timedelta(minutes=1), OFFICIAL).open


def test_exact_to_the_minute():
    assert add_working_hours(msk(2026, 11, 10, 18, 59), 1 / 60, OFFICIAL) == msk(2026, 11, 10, 19)
    assert add_working_hours(msk(2026, 11, 10, 19), timedelta(minutes=1), OFFICIAL) == msk(
        2026, 11, 11, 10, 1
    )
    assert add_working_hours(msk(2026, 11, 10, 18, 17), timedelta(minutes=90), OFFICIAL) == msk(
        2026, 11, 11, 10, 47
    )
    assert working_hours_between(
        msk(2026, 11, 10, 18, 17), msk(2026, 11, 11, 10, 47), OFFICIAL
    ) == timedelta(minutes=90)


def test_zero_hours_is_the_start_itself():
    evening = msk(2026, 11, 10, 22)
    assert add_working_hours(evening, 0, OFFICIAL) == evening


def test_nonsense_is_refused():
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(msk(2026, 11, 10, 12), -1, OFFICIAL)
    with pytest.raises(ValueError, match="aware"):
        add_working_hours(datetime(2026, 11, 10, 12), 1, OFFICIAL)
    with pytest.raises(ValueError, match="aware"):
        working_hours_between(datetime(2026, 11, 10, 12), msk(2026, 11, 10, 13), OFFICIAL)
    never_works = ProductionCalendar(default=lambda on: day_off())
    with pytest.raises(ValueError, match="no working time"):
        add_working_hours(msk(2026, 11, 10, 12), 1, never_works)
    with pytest.raises(ValueError):
        DaySchedule("working", 5)


def test_working_time_between_counts_only_working_hours():
    friday_noon, monday_noon = msk(2026, 11, 13, 12), msk(2026, 11, 16, 12)
    assert working_hours_between(friday_noon, monday_noon, OFFICIAL) == 9 * HOUR
    assert working_hours_between(monday_noon, friday_noon, OFFICIAL) == -9 * HOUR
    assert working_hours_between(friday_noon, friday_noon, OFFICIAL) == timedelta(0)
    night = msk(2026, 11, 13, 20), msk(2026, 11, 14, 9)
    assert working_hours_between(*night, OFFICIAL) == timedelta(0)


def test_adding_and_measuring_agree_and_the_result_is_the_earliest_moment():
    start = msk(2026, 4, 27, 0, 0)  # a fortnight with a shortened day, holidays and weekends
    for step in range(0, 17 * 24 * 60, 37):
        moment = start + timedelta(minutes=step)
        for hours in (0.25, 1, 8, 9, 16, 24, 27):
            due = add_working_hours(moment, hours, OFFICIAL)
            assert working_hours_between(moment, due, OFFICIAL) == timedelta(hours=hours)
            a_minute_earlier = due - timedelta(minutes=1)
            assert working_hours_between(moment, a_minute_earlier, OFFICIAL) < timedelta(
                hours=hours
            )
