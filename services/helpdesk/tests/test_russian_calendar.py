"""Rule 1: the official calendar from `holidays` (RU), with the shortened days derived from it."""

from datetime import date, timedelta

from services.helpdesk.calendar.russian_calendar import official_day, official_year


def kinds(year):
    return {on: schedule.kind for on, schedule in official_year(year).items()}


def test_the_new_year_holidays_and_the_day_moved_after_them():
    for day in range(1, 9):
        assert official_day(date(2026, 1, day)).kind == "holiday"
    assert official_day(date(2026, 1, 1)).note == "Новогодние каникулы"
    assert official_day(date(2026, 1, 7)).note == "Рождество Христово"
    assert official_day(date(2026, 1, 9)).kind == "holiday"  # moved from Saturday 3 January
    assert official_day(date(2026, 1, 12)).kind == "working"


def test_a_holiday_on_a_weekend_moves_to_the_next_weekday():
    assert official_day(date(2026, 3, 8)).kind == "holiday"  # Sunday
    assert official_day(date(2026, 3, 9)).kind == "holiday"
    assert official_day(date(2026, 5, 11)).kind == "holiday"  # 9 May is a Saturday


def test_shortened_days_of_2026_are_the_days_before_public_holidays():
    year = official_year(2026)
    shortened = sorted(on for on, schedule in year.items() if schedule.kind == "shortened")
    assert shortened == [date(2026, 4, 30), date(2026, 5, 8), date(2026, 6, 11), date(2026, 11, 3)]
    assert {year[on].hours for on in shortened} == {8}
    # Not before a moved day off (31 Dec), nor a Friday before a holiday Monday (23 Feb).
    assert year[date(2026, 12, 30)].kind == "working"
    assert year[date(2026, 2, 20)].kind == "working"
    assert sum(1 for kind in kinds(2026).values() if kind != "holiday") == 247


def test_weekend_days_made_working_by_a_transfer():
    for saturday in (date(2024, 4, 27), date(2024, 11, 2), date(2024, 12, 28), date(2025, 11, 1)):
        schedule = official_day(saturday)
        assert saturday.weekday() == 5
        assert (schedule.kind, schedule.hours) == ("shortened", 8), saturday
    # The weekdays the days off moved to.
    for weekday in (date(2024, 4, 29), date(2024, 4, 30), date(2024, 12, 30), date(2025, 11, 3)):
        assert official_day(weekday).kind == "holiday", weekday


def test_ordinary_weekends_and_years_the_package_does_not_cover():
    assert official_day(date(2026, 11, 14)).kind == "holiday"  # a Saturday
    assert official_day(date(2026, 11, 14)).note is None
    assert official_day(date(1950, 1, 2)).kind == "working"  # Monday; no calendar for 1950
    days = official_year(2028)
    assert len(days) == 366 and min(days) == date(2028, 1, 1)
    assert max(days) == date(2028, 1, 1) + timedelta(days=365)
