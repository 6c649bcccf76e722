"""Property tests of the working-time engine's arithmetic on the official calendar (rule 1)."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.helpdesk.calendar.russian_calendar import official_day
from services.helpdesk.calendar.working_time import (
    ProductionCalendar,
    add_working_hours,
    working_hours_between,
)

OFFICIAL = ProductionCalendar(default=official_day)
MINUTE = timedelta(minutes=1)

# Any minute of 2025–2027 (New Year holidays, transfers, shortened days included).
moments = st.integers(min_value=0, max_value=3 * 365 * 24 * 60).map(
    lambda minutes: datetime(2025, 1, 1, tzinfo=UTC) + minutes * MINUTE
)
# Up to two working weeks, in whole minutes.
budgets = st.integers(min_value=0, max_value=90 * 60).map(lambda minutes: minutes * MINUTE)


@settings(max_examples=300, deadline=None)
@given(moments, budgets)
def test_adding_then_measuring_gives_the_hours_back(start, hours):
    assert working_hours_between(start, add_working_hours(start, hours, OFFICIAL), OFFICIAL) == (
        hours
    )


@settings(max_examples=300, deadline=None)
@given(moments, budgets)
def test_the_result_is_the_earliest_such_moment(start, hours):
    result = add_working_hours(start, hours, OFFICIAL)
    assert result >= start
    if hours:
        assert working_hours_between(start, result - MINUTE, OFFICIAL) < hours


@settings(max_examples=200, deadline=None)
@given(moments, budgets, budgets)
def test_adding_in_two_steps_equals_adding_at_once(start, first, second):
    stepwise = add_working_hours(add_working_hours(start, first, OFFICIAL), second, OFFICIAL)
    assert stepwise == add_working_hours(start, first + second, OFFICIAL)


@settings(max_examples=200, deadline=None)
@given(moments, moments, moments)
def test_measuring_is_additive_and_antisymmetric(a, b, c):
    a, b, c = sorted((a, b, c))
    assert working_hours_between(a, c, OFFICIAL) == working_hours_between(
        a, b, OFFICIAL
    ) + working_hours_between(b, c, OFFICIAL)
    assert working_hours_between(c, a, OFFICIAL) == -working_hours_between(a, c, OFFICIAL)
    # Never more than the calendar time in between.
    assert timedelta(0) <= working_hours_between(a, c, OFFICIAL) <= c - a
