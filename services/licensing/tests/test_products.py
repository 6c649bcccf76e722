"""Rule 1: products with a code, a name and a protection kind; read by anyone, added by an admin."""

import uuid

from services.licensing.catalogue.defaults import DEFAULT_PRODUCTS


def new_code(tag: str = "PRODUCT") -> str:
    return f"{tag}_{uuid.uuid4().hex[:8].upper()}"


async def add_product(licensing, **overrides):
    body = {
        "code": new_code(),
        "name": "БАЗИС-Шкаф",
        "protection_kind": "codemeter",
        **overrides,
    }
    return await licensing.client.post("/api/v1/products", json=body, headers=licensing.as_admin())


async def all_products(licensing, **params):
    """Every product, walking the pages."""
    products, cursor = [], None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await licensing.client.get("/api/v1/products", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        products += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return products


async def test_anyone_reads_the_catalogue_seeded_with_the_default_products(licensing):
    response = await licensing.client.get("/api/v1/products")

    assert response.status_code == 200
    by_code = {product["code"]: product for product in await all_products(licensing)}
    for default in DEFAULT_PRODUCTS:
        assert by_code[default.code]["name"] == default.name
        assert by_code[default.code]["protection_kind"] == default.protection_kind
    assert set(by_code["BAZIS_FURNITURE"]) == {
        "id",
        "code",
        "name",
        "protection_kind",
        "created_at",
    }


async def test_admin_adds_a_product_of_each_protection_kind(licensing):
    for kind in ("codemeter", "software", "none"):
        code = new_code()
        response = await add_product(
            licensing, code=code, name="  БАЗИС   Смета ", protection_kind=kind
        )

        assert response.status_code == 201, response.text
        created = response.json()
        assert created["code"] == code and created["protection_kind"] == kind
        assert created["name"] == "БАЗИС Смета"
        assert created["created_at"].endswith("Z")
        listed = {p["code"]: p for p in await all_products(licensing)}
        assert listed[code] == created


async def test_products_are_listed_by_code_page_by_page(licensing):
    for _ in range(3):
        assert (await add_product(licensing)).status_code == 201

    paged = await all_products(licensing, limit=2)

    codes = [product["code"] for product in paged]
    assert codes == sorted(codes)
    assert len(codes) == len(set(codes)) == len(await all_products(licensing, limit=200))


async def test_a_code_in_use_is_409(licensing):
    code = new_code()
    assert (await add_product(licensing, code=code)).status_code == 201

    again = await add_product(licensing, code=code, name="Другое имя")

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"


async def test_invalid_products_are_422_naming_the_field(licensing):
    for overrides, field in (
        ({"code": "bazis_lowercase"}, "code"),
        ({"code": "WITH-DASH"}, "code"),
        ({"code": ""}, "code"),
        ({"code": "KEY_PROTECTION"}, "code"),
        ({"protection_kind": "guardant"}, "protection_kind"),
        ({"name": ""}, "name"),
        ({"name": "   "}, "name"),
        ({"price": "100.00"}, "price"),
    ):
        response = await add_product(licensing, **overrides)
        assert response.status_code == 422, overrides
        assert [error["field"] for error in response.json()["errors"]] == [field], overrides


async def test_only_an_admin_adds_products(licensing):
    body = {"code": new_code(), "name": "БАЗИС-Шкаф", "protection_kind": "none"}
    anonymous = await licensing.client.post("/api/v1/products", json=body)
    contact = await licensing.client.post(
        "/api/v1/products", json=body, headers=licensing.as_contact()
    )
    agent = await licensing.client.post("/api/v1/products", json=body, headers=licensing.as_agent())

    assert anonymous.status_code == 401
    assert contact.status_code == 403 and agent.status_code == 403
    assert body["code"] not in {p["code"] for p in await all_products(licensing)}


async def test_a_cursor_the_api_did_not_issue_or_a_limit_out_of_range_is_422_naming_it(licensing):
    for query, field in [
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "WyJBIiwiQiJd"}, "cursor"),  # a list of two values for a one-key order
        ({"cursor": "W1tdXQ"}, "cursor"),  # a list where a code belongs
        ({"limit": 0}, "limit"),
        ({"limit": 201}, "limit"),
    ]:
        response = await licensing.client.get("/api/v1/products", params=query)
        assert response.status_code == 422, (query, response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text


async def test_the_catalogue_answer_keeps_its_documented_schema(licensing):
    operation = licensing.app.openapi()["paths"]["/api/v1/products"]["get"]
    schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert schema["$ref"].endswith("Page_ProductRead_")
    response = await licensing.client.get("/api/v1/products", params={"limit": 1})
    assert response.headers["content-type"] == "application/json"
    (item,) = response.json()["items"]
    assert set(item) == {"id", "code", "name", "protection_kind", "created_at"}
