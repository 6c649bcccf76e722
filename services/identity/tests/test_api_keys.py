"""Rule 10: partner API keys with scopes, shown once, stored hashed, last use, revoked at once."""

import hashlib
import re
import uuid
from datetime import timedelta

from services.identity.models import ApiKey
from services.identity.tests.organization_factories import (
    add_contact,
    add_organization,
    add_staff,
    as_new_admin,
    as_user,
    reload,
)

KEY_FORMAT = re.compile(r"kab_([a-z0-9]{8})_[A-Za-z0-9_-]{32,}")


async def issue(identity, admin, organization, scopes=("read",), name="Partner CRM"):
    response = await identity.client.post(
        "/api/v1/api-keys",
        json={"organization_id": str(organization.id), "name": name, "scopes": list(scopes)},
        headers=admin,
    )
    assert response.status_code == 201, response.text
    return response.json()


async def verify(identity, key):
    return await identity.client.post("/internal/api-keys/verify", json={"key": key})


async def test_issued_key_is_shown_once_and_stored_only_as_a_hash(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)

    issued = await issue(identity, admin, partner, scopes=["licenses:write", "read"])

    assert set(issued) == {"id", "key", "prefix", "scopes"}
    assert KEY_FORMAT.fullmatch(issued["key"])
    assert issued["prefix"] == issued["key"][:12] and issued["prefix"].startswith("kab_")
    assert issued["scopes"] == ["licenses:write", "read"]
    stored = await reload(identity, ApiKey, uuid.UUID(issued["id"]))
    assert stored.secret_hash == hashlib.sha256(issued["key"].encode()).hexdigest()
    secret = issued["key"].split("_", 2)[2]
    assert secret not in repr(vars(stored))

    listed = await identity.client.get(
        "/api/v1/api-keys", params={"organization_id": str(partner.id)}, headers=admin
    )
    assert listed.status_code == 200
    assert secret not in listed.text and issued["key"] not in listed.text
    [item] = listed.json()["items"]
    assert "key" not in item and "secret_hash" not in item
    assert item["prefix"] == issued["prefix"]
    assert item["scopes"] == ["licenses:write", "read"]
    assert item["name"] == "Partner CRM"
    assert item["created_at"].endswith("Z")
    assert item["last_used_at"] is None and item["revoked_at"] is None


async def test_each_key_is_different(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)
    first, second = await issue(identity, admin, partner), await issue(identity, admin, partner)
    assert first["key"] != second["key"] and first["prefix"] != second["prefix"]


async def test_unknown_scopes_and_organizations_are_refused(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)
    for body, field in (
        ({"scopes": ["read", "admin"]}, "scopes[1]"),
        ({"scopes": []}, "scopes"),
        ({"organization_id": str(uuid.uuid4())}, "organization_id"),
        ({"name": ""}, "name"),
    ):
        response = await identity.client.post(
            "/api/v1/api-keys",
            json={"organization_id": str(partner.id), "name": "CRM", "scopes": ["read"], **body},
            headers=admin,
        )
        assert response.status_code == 422, body
        assert response.json()["errors"][0]["field"] == field


async def test_verify_tells_the_gateway_who_the_key_is(identity):
    partner = await add_organization(identity)
    issued = await issue(identity, await as_new_admin(identity), partner, scopes=["tickets:write"])

    response = await verify(identity, issued["key"])

    assert response.status_code == 200
    assert response.json() == {
        "api_key_id": issued["id"],
        "organization_id": str(partner.id),
        "scopes": ["tickets:write"],
        "prefix": issued["prefix"],
    }


async def test_a_wrong_or_malformed_key_is_404(identity):
    partner = await add_organization(identity)
    issued = await issue(identity, await as_new_admin(identity), partner)
    wrong_secret = issued["prefix"] + "_" + "A" * 43
    for key in (wrong_secret, "kab_zzzzzzzz_" + "A" * 43, "nonsense", "", issued["prefix"]):
        response = await verify(identity, key)
        assert response.status_code == 404, key
        assert response.headers["content-type"] == "application/problem+json"


async def test_revoked_key_stops_verifying_at_once(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)
    issued = await issue(identity, admin, partner)
    assert (await verify(identity, issued["key"])).status_code == 200

    revoked = await identity.client.delete(f"/api/v1/api-keys/{issued['id']}", headers=admin)

    assert revoked.status_code == 204
    assert (await verify(identity, issued["key"])).status_code == 404
    [item] = (
        await identity.client.get(
            "/api/v1/api-keys", params={"organization_id": str(partner.id)}, headers=admin
        )
    ).json()["items"]
    assert item["revoked_at"] is not None
    again = await identity.client.delete(f"/api/v1/api-keys/{issued['id']}", headers=admin)
    assert again.status_code == 204
    missing = await identity.client.delete(f"/api/v1/api-keys/{uuid.uuid4()}", headers=admin)
    assert missing.status_code == 404


async def test_last_use_is_recorded_at_most_once_a_minute(identity):
    partner = await add_organization(identity)
    issued = await issue(identity, await as_new_admin(identity), partner)
    key_id = uuid.UUID(issued["id"])
    first_use = identity.clock.advance(minutes=5)

    await verify(identity, issued["key"])
    assert (await reload(identity, ApiKey, key_id)).last_used_at == first_use

    identity.clock.advance(seconds=30)
    await verify(identity, issued["key"])
    assert (await reload(identity, ApiKey, key_id)).last_used_at == first_use

    later = identity.clock.advance(seconds=31)
    await verify(identity, issued["key"])
    assert (await reload(identity, ApiKey, key_id)).last_used_at == later


async def test_keys_are_listed_page_by_page(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)
    issued = [await issue(identity, admin, partner, name=f"key {n}") for n in range(5)]

    seen, cursor = [], None
    while True:
        params = {"organization_id": str(partner.id), "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await identity.client.get("/api/v1/api-keys", params=params, headers=admin)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == [key["id"] for key in issued]


async def test_only_an_admin_manages_keys(identity):
    partner = await add_organization(identity)
    issued = await issue(identity, await as_new_admin(identity), partner)
    body = {"organization_id": str(partner.id), "name": "CRM", "scopes": ["read"]}
    contact = as_user(identity, await add_contact(identity, partner, responsible=True))
    agent = as_user(identity, await add_staff(identity, "agent"))

    for headers in (contact, agent):
        assert (
            await identity.client.post("/api/v1/api-keys", json=body, headers=headers)
        ).status_code == 403
        assert (await identity.client.get("/api/v1/api-keys", headers=headers)).status_code == 403
        assert (
            await identity.client.delete(f"/api/v1/api-keys/{issued['id']}", headers=headers)
        ).status_code == 403
    assert (await identity.client.get("/api/v1/api-keys")).status_code == 401
    assert (await verify(identity, issued["key"])).status_code == 200


async def test_verification_is_internal_not_a_public_api_path(identity):
    document = (await identity.client.get("/openapi.json")).json()
    assert not any(path.startswith("/internal") for path in document["paths"])
    assert "/api/v1/api-keys" in document["paths"]


async def test_last_use_is_shown_in_the_list(identity):
    partner = await add_organization(identity)
    admin = await as_new_admin(identity)
    issued = await issue(identity, admin, partner)
    used_at = identity.clock.advance(timedelta(minutes=2))
    await verify(identity, issued["key"])

    [item] = (
        await identity.client.get(
            "/api/v1/api-keys", params={"organization_id": str(partner.id)}, headers=admin
        )
    ).json()["items"]

    assert item["last_used_at"] == used_at.isoformat().replace("+00:00", "Z")
