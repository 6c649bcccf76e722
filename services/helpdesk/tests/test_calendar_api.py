"""Rules 1 and 10 through the API: support's status now, the calendar's days, an admin setting a
day, and the calendar seeded for this year and the next."""

import asyncio
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from services.helpdesk.calendar.bootstrap import ensure_production_calendar
from services.helpdesk.calendar.service import calendar_service
from services.helpdesk.models import CalendarDay


async def status_at(helpdesk, moment):
    helpdesk.clock.set(moment)
    response = await helpdesk.client.get("/api/v1/calendar/status")
    assert response.status_code == 200, response.text
    return response.json()


async def days(helpdesk, first, last):
    return await helpdesk.client.get(
        "/api/v1/calendar/days", params={"from": str(first), "to": str(last)}
    )


async def set_day(helpdesk, on, body, headers=None):
    return await helpdesk.client.put(
        f"/api/v1/calendar/days/{on}", json=body, headers=headers or helpdesk.as_admin()
    )


def utc(on, hour):
    return datetime(on.year, on.month, on.day, hour, tzinfo=UTC)


def saturday_of(year, week):
    first = date(year, 1, 1)
    return first + timedelta(days=(5 - first.weekday()) % 7 + 7 * week)


async def test_open_now_tells_when_support_closes_and_opens_next(helpdesk):
    # Tuesday 10 November 2026, 12:00 in Moscow.
    status = await status_at(helpdesk, datetime(2026, 11, 10, 9, 0, tzinfo=UTC))

    assert status == {
        "open": True,
        "now": "2026-11-10T09:00:00Z",
        "closes_at": "2026-11-10T16:00:00Z",
        "next_open_at": "2026-11-11T07:00:00Z",
    }


async def test_closed_on_a_friday_evening_opens_on_monday(helpdesk):
    status = await status_at(helpdesk, datetime(2026, 11, 13, 17, 0, tzinfo=UTC))

    assert status["open"] is False and status["closes_at"] is None
    assert status["next_open_at"] == "2026-11-16T07:00:00Z"


async def test_on_a_shortened_day_support_closes_at_18(helpdesk):
    # Tuesday 3 November 2026, before Unity Day.
    open_late = await status_at(helpdesk, datetime(2026, 11, 3, 14, 59, tzinfo=UTC))
    closed = await status_at(helpdesk, datetime(2026, 11, 3, 15, 0, tzinfo=UTC))

    assert open_late["open"] is True and open_late["closes_at"] == "2026-11-03T15:00:00Z"
    assert closed["open"] is False
    assert closed["next_open_at"] == "2026-11-05T07:00:00Z"


async def test_through_the_new_year_holidays_support_opens_after_them(helpdesk):
    status = await status_at(helpdesk, datetime(2027, 1, 4, 9, 0, tzinfo=UTC))

    assert status["open"] is False
    assert status["next_open_at"] == "2027-01-11T07:00:00Z"


async def test_the_calendar_lists_every_day_of_a_range(helpdesk):
    response = await days(helpdesk, date(2026, 1, 1), date(2026, 1, 12))

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert [item["date"] for item in items] == [f"2026-01-{d:02d}" for d in range(1, 13)]
    assert [item["kind"] for item in items] == ["holiday"] * 11 + ["working"]
    assert items[0] == {
        "date": "2026-01-01",
        "kind": "holiday",
        "hours": 0,
        "opens_at": None,
        "closes_at": None,
        "note": "Новогодние каникулы",
        "source": "official",
    }
    assert items[-1]["hours"] == 9
    assert (items[-1]["opens_at"], items[-1]["closes_at"]) == (
        "2026-01-12T07:00:00Z",
        "2026-01-12T16:00:00Z",
    )
    [shortened] = (await days(helpdesk, date(2026, 4, 30), date(2026, 4, 30))).json()["items"]
    assert (shortened["kind"], shortened["hours"]) == ("shortened", 8)
    assert shortened["closes_at"] == "2026-04-30T15:00:00Z"


async def test_days_beyond_the_seeded_years_come_from_the_official_calendar(helpdesk):
    response = await days(helpdesk, date(2035, 1, 1), date(2035, 1, 1))

    [new_year] = response.json()["items"]
    assert (new_year["kind"], new_year["source"]) == ("holiday", "official")


async def test_a_range_is_at_most_366_days_and_in_order(helpdesk):
    leap_year = await days(helpdesk, date(2028, 1, 1), date(2028, 12, 31))
    assert leap_year.status_code == 200 and len(leap_year.json()["items"]) == 366

    for first, last in ((date(2028, 1, 1), date(2029, 1, 1)), (date(2026, 5, 2), date(2026, 5, 1))):
        response = await days(helpdesk, first, last)
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == ["to"]
    for params, field in (
        ({"to": "2026-01-01"}, "from"),
        ({"from": "soon", "to": "2026-01-01"}, "from"),
    ):
        response = await helpdesk.client.get("/api/v1/calendar/days", params=params)
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_an_admin_makes_a_weekend_day_working_and_support_opens_on_it(helpdesk):
    saturday = saturday_of(2031, 10)

    response = await set_day(helpdesk, saturday, {"kind": "working", "note": "Перенос с 3 января"})

    assert response.status_code == 200, response.text
    assert response.json() == {
        "date": saturday.isoformat(),
        "kind": "working",
        "hours": 9,
        "opens_at": f"{saturday}T07:00:00Z",
        "closes_at": f"{saturday}T16:00:00Z",
        "note": "Перенос с 3 января",
        "source": "admin",
    }
    [listed] = (await days(helpdesk, saturday, saturday)).json()["items"]
    assert listed == response.json()
    friday_evening = await status_at(helpdesk, utc(saturday - timedelta(days=1), 17))
    assert friday_evening["next_open_at"] == f"{saturday}T07:00:00Z"
    assert (await status_at(helpdesk, utc(saturday, 9)))["open"] is True


async def test_an_admin_sets_holidays_and_shortened_days(helpdesk):
    monday = saturday_of(2031, 20) + timedelta(days=2)
    tuesday = monday + timedelta(days=1)

    holiday = await set_day(helpdesk, monday, {"kind": "holiday"})
    shortened = await set_day(helpdesk, tuesday, {"kind": "shortened"})
    six_hours = await set_day(
        helpdesk, tuesday + timedelta(days=1), {"kind": "shortened", "hours": 6}
    )

    assert (holiday.status_code, holiday.json()["hours"], holiday.json()["opens_at"]) == (
        200,
        0,
        None,
    )
    assert shortened.json()["hours"] == 8
    assert shortened.json()["closes_at"] == f"{tuesday}T15:00:00Z"
    assert six_hours.json()["closes_at"] == f"{tuesday + timedelta(days=1)}T13:00:00Z"
    # Setting a day again replaces it.
    again = await set_day(helpdesk, monday, {"kind": "working"})
    assert again.json()["kind"] == "working"
    [listed] = (await days(helpdesk, monday, monday)).json()["items"]
    assert (listed["kind"], listed["source"]) == ("working", "admin")


async def test_a_day_with_hours_its_kind_cannot_have_is_422(helpdesk):
    on = saturday_of(2031, 30)
    for body, field in (
        ({"kind": "shortened", "hours": 9}, "hours"),
        ({"kind": "shortened", "hours": 0}, "hours"),
        ({"kind": "holiday", "hours": 3}, "hours"),
        ({"kind": "working", "hours": 8}, "hours"),
        ({"kind": "weekend"}, "kind"),
        ({"kind": "holiday", "colour": "red"}, "colour"),
    ):
        response = await set_day(helpdesk, on, body)
        assert response.status_code == 422, body
        assert [error["field"] for error in response.json()["errors"]] == [field], body
    bad_date = await set_day(helpdesk, "2031-02-30", {"kind": "holiday"})
    assert bad_date.status_code == 422
    assert [error["field"] for error in bad_date.json()["errors"]] == ["date"]
    [untouched] = (await days(helpdesk, on, on)).json()["items"]
    assert untouched["source"] == "official"


async def test_only_an_admin_sets_a_day(helpdesk):
    on = saturday_of(2031, 40)
    for headers, status in ((None, 401), (helpdesk.as_agent(), 403), (helpdesk.as_contact(), 403)):
        response = await helpdesk.client.put(
            f"/api/v1/calendar/days/{on}", json={"kind": "working"}, headers=headers
        )
        assert response.status_code == status
    [untouched] = (await days(helpdesk, on, on)).json()["items"]
    assert (untouched["kind"], untouched["source"]) == ("holiday", "official")


async def count_days(helpdesk, year):
    async with helpdesk.app.state.sessionmaker() as session:
        return await session.scalar(
            select(func.count())
            .select_from(CalendarDay)
            .where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        )


async def test_the_service_starts_with_this_year_and_the_next_seeded(helpdesk):
    year = helpdesk.clock.now().year
    assert await count_days(helpdesk, year) == 365
    assert await count_days(helpdesk, year + 1) == 365


async def test_seeding_adds_only_missing_days_and_keeps_what_an_admin_set(helpdesk):
    admin_day = date(2091, 3, 1)  # a Thursday
    assert (await set_day(helpdesk, admin_day, {"kind": "holiday"})).status_code == 200
    helpdesk.clock.set(datetime(2090, 6, 1, 9, 0, tzinfo=UTC))
    runtime = helpdesk.app.state.runtime

    # Two replicas starting at once.
    await asyncio.gather(ensure_production_calendar(runtime), ensure_production_calendar(runtime))

    assert await count_days(helpdesk, 2090) == 365
    assert await count_days(helpdesk, 2091) == 365
    async with helpdesk.app.state.sessionmaker() as session:
        kept = await session.get(CalendarDay, admin_day)
        new_year = await session.get(CalendarDay, date(2090, 1, 1))
        assert await calendar_service.seed_missing_days(session, helpdesk.clock) == 0
    assert (kept.kind, kept.source) == ("holiday", "admin")
    assert (new_year.kind, new_year.source, new_year.note) == (
        "holiday",
        "official",
        "Новогодние каникулы",
    )
