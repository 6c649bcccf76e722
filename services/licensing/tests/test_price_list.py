"""Rule 1: the price list versioned by effective date (Moscow), resident and non-resident prices,
the version in force at a moment, and versions that never rewrite a price already in force."""

from datetime import UTC, datetime
from decimal import Decimal

from services.licensing.catalogue.defaults import DEFAULT_PRICES
from services.licensing.catalogue.price_codes import SERVICE_NAMES
from services.licensing.catalogue.service import catalogue_service
from services.licensing.tests.conftest import unique_year
from services.licensing.tests.test_products import add_product, new_code


def item(code, resident, non_resident):
    return {"code": code, "resident_price": resident, "non_resident_price": non_resident}


async def add_version(licensing, effective_from, items, headers=None):
    return await licensing.client.post(
        "/api/v1/price-list/versions",
        json={"effective_from": effective_from, "items": items},
        headers=headers or licensing.as_admin(),
    )


async def price_list(licensing, at=None):
    params = {"at": at} if at is not None else {}
    return await licensing.client.get("/api/v1/price-list", params=params)


async def test_the_default_price_list_is_in_force_now_for_anyone(licensing):
    response = await price_list(licensing)

    assert response.status_code == 200, response.text
    version = response.json()
    assert version["effective_from"] == f"{licensing.clock.now().year}-01-01"
    assert version["currency"] == "RUB"
    items = {entry["code"]: entry for entry in version["items"]}
    assert set(SERVICE_NAMES) <= set(items)
    for code, price in DEFAULT_PRICES.items():
        assert items[code]["resident_price"] == format(price.resident, "f")
        assert items[code]["non_resident_price"] == format(price.non_resident, "f")
    assert items["KEY_PROTECTION"] == {
        "code": "KEY_PROTECTION",
        "kind": "service",
        "name": SERVICE_NAMES["KEY_PROTECTION"],
        "resident_price": "4900.00",
        "non_resident_price": "5900.00",
    }
    assert items["BAZIS_FURNITURE"]["kind"] == "product"
    assert items["BAZIS_FURNITURE"]["name"] == "БАЗИС-Мебельщик"


async def test_before_any_version_there_is_no_price_list(licensing):
    response = await price_list(licensing, at="1990-01-01")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "1990-01-01" in response.json()["detail"]


async def test_a_version_is_in_force_from_its_date_in_moscow_until_the_next(licensing):
    year = unique_year()
    spring = await add_version(licensing, f"{year}-03-01", [item("KEY_PROTECTION", "5100", "6100")])
    summer = await add_version(licensing, f"{year}-06-01", [item("KEY_PROTECTION", "5300", "6300")])
    assert spring.status_code == 201, spring.text
    assert summer.status_code == 201, summer.text
    spring_id, summer_id = spring.json()["id"], summer.json()["id"]

    async def in_force(at):
        response = await price_list(licensing, at)
        assert response.status_code == 200, (at, response.text)
        return response.json()["id"]

    # Midnight in Moscow is 21:00 UTC the day before.
    assert await in_force(f"{year}-02-28T20:59:59Z") != spring_id
    assert await in_force(f"{year}-02-28T21:00:00Z") == spring_id
    assert await in_force(f"{year}-02-28T23:59:59+03:00") != spring_id
    assert await in_force(f"{year}-03-01T00:00:00+03:00") == spring_id
    assert await in_force(f"{year}-03-01") == spring_id
    assert await in_force(f"{year}-05-31") == spring_id
    assert await in_force(f"{year}-06-01") == summer_id
    assert await in_force(f"{year}-12-31T12:00:00Z") == summer_id


async def test_an_order_is_priced_from_the_version_in_force_at_its_moment(licensing):
    year = unique_year()
    for effective_from, resident, non_resident in (
        (f"{year}-01-01", "4900.00", "5900.00"),
        (f"{year}-07-01", "5400.50", "6400.75"),
    ):
        response = await add_version(
            licensing, effective_from, [item("KEY_PROTECTION", resident, non_resident)]
        )
        assert response.status_code == 201, response.text

    async def price(moment, resident):
        async with licensing.app.state.sessionmaker() as session:
            return await catalogue_service.price_in_force(
                session, "KEY_PROTECTION", moment, resident=resident
            )

    june = datetime(year, 6, 30, 20, 59, tzinfo=UTC)  # 23:59 in Moscow
    july = datetime(year, 6, 30, 21, 0, tzinfo=UTC)  # 00:00 on 1 July in Moscow
    assert await price(june, True) == Decimal("4900.00")
    assert await price(june, False) == Decimal("5900.00")
    assert await price(july, True) == Decimal("5400.50")
    assert await price(july, False) == Decimal("6400.75")


async def test_prices_are_exact_decimal_strings(licensing):
    year = unique_year()
    response = await add_version(
        licensing,
        f"{year}-01-01",
        [
            item("DELIVERY", "0.10", 0.2),
            item("CODEMETER_KEY", "1234.5", 3500),
            item("SUPPORT_PAID_12M", "9999999999999.99", "0"),
        ],
    )

    assert response.status_code == 201, response.text
    read = (await price_list(licensing, f"{year}-01-01")).json()
    prices = {e["code"]: (e["resident_price"], e["non_resident_price"]) for e in read["items"]}
    assert prices == {
        "DELIVERY": ("0.10", "0.20"),
        "CODEMETER_KEY": ("1234.50", "3500.00"),
        "SUPPORT_PAID_12M": ("9999999999999.99", "0.00"),
    }
    assert response.json()["items"] == read["items"]


async def test_a_product_item_carries_the_product_and_a_service_item_its_name(licensing):
    code = new_code()
    assert (await add_product(licensing, code=code, name="БАЗИС-Фасад")).status_code == 201
    year = unique_year()

    response = await add_version(
        licensing, f"{year}-02-01", [item(code, "1000", "1200"), item("DATA_CHANGE", "1", "2")]
    )

    assert response.status_code == 201, response.text
    items = {entry["code"]: entry for entry in response.json()["items"]}
    assert (items[code]["kind"], items[code]["name"]) == ("product", "БАЗИС-Фасад")
    assert items["DATA_CHANGE"]["kind"] == "service"
    assert items["DATA_CHANGE"]["name"] == SERVICE_NAMES["DATA_CHANGE"]


async def test_a_version_may_not_start_today_or_earlier_in_moscow(licensing):
    # 00:30 on 3 November in Moscow, still 2 November in UTC.
    licensing.clock.set(datetime(2026, 11, 2, 21, 30, tzinfo=UTC))
    for effective_from in ("2026-11-03", "2026-11-02", "2020-01-01"):
        response = await add_version(licensing, effective_from, [item("DELIVERY", "1", "1")])

        assert response.status_code == 422, effective_from
        [error] = response.json()["errors"]
        assert error["field"] == "effective_from"
        assert "2026-11-03" in error["message"]
    assert (await price_list(licensing, "2026-11-03")).json()["effective_from"] == "2026-01-01"


async def test_two_versions_may_not_share_an_effective_date(licensing):
    effective_from = f"{unique_year()}-01-01"
    first = await add_version(licensing, effective_from, [item("DELIVERY", "600", "2500")])
    assert first.status_code == 201

    second = await add_version(licensing, effective_from, [item("DELIVERY", "700", "2600")])

    assert second.status_code == 409
    in_force = (await price_list(licensing, effective_from)).json()
    assert in_force["id"] == first.json()["id"]
    assert in_force["items"][0]["resident_price"] == "600.00"


async def test_invalid_versions_are_422_naming_the_field(licensing):
    effective_from = f"{unique_year()}-01-01"
    good = item("DELIVERY", "600", "2500")
    for body, field in (
        ({"items": [item("NO_SUCH_CODE", "1", "1")]}, "items[0].code"),
        ({"items": [good, item("DELIVERY", "1", "1")]}, "items[1].code"),
        ({"items": [item("delivery", "1", "1")]}, "items[0].code"),
        ({"items": [item("DELIVERY", "-1.00", "1")]}, "items[0].resident_price"),
        ({"items": [item("DELIVERY", "1", "1.005")]}, "items[0].non_resident_price"),
        ({"items": [item("DELIVERY", "1", "lots")]}, "items[0].non_resident_price"),
        ({"items": []}, "items"),
        ({"effective_from": "not a date"}, "effective_from"),
    ):
        response = await licensing.client.post(
            "/api/v1/price-list/versions",
            json={"effective_from": effective_from, "items": [good], **body},
            headers=licensing.as_admin(),
        )
        assert response.status_code == 422, body
        assert [error["field"] for error in response.json()["errors"]] == [field], body
    assert (await price_list(licensing, effective_from)).json()["effective_from"] < effective_from


async def test_only_an_admin_adds_versions(licensing):
    effective_from = f"{unique_year()}-01-01"
    items = [item("DELIVERY", "600", "2500")]
    for headers, status in (
        (None, 401),
        (licensing.as_contact(), 403),
        (licensing.as_agent(), 403),
    ):
        response = await licensing.client.post(
            "/api/v1/price-list/versions",
            json={"effective_from": effective_from, "items": items},
            headers=headers,
        )
        assert response.status_code == status
    assert (await price_list(licensing, effective_from)).json()["effective_from"] < effective_from


async def test_at_is_a_date_or_a_moment_with_its_zone(licensing):
    for at in ("yesterday", "2026-13-01", "2026-05-01T10:00:00"):
        response = await price_list(licensing, at)
        assert response.status_code == 422, at
        assert [error["field"] for error in response.json()["errors"]] == ["at"]
