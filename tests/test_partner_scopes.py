"""API-key scopes through the gateway: a key reaches only endpoints that declare a scope it
carries; everything else is a 403, whatever the service."""

from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.test_identity_story import register_company, sign_in


async def issue(stack: Stack, organization_id: str, scopes: list[str]) -> dict[str, str]:
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    issued = await stack.gateway.post(
        "/api/v1/api-keys",
        json={"organization_id": organization_id, "name": "ERP", "scopes": scopes},
        headers=admin,
    )
    assert issued.status_code == 201, issued.text
    return {"X-API-Key": issued.json()["key"]}


async def test_a_key_without_the_scope_gets_403(stack: Stack):
    partner = await register_company(stack)
    reader = await issue(stack, partner["organization_id"], ["read"])
    ticketing = await issue(stack, partner["organization_id"], ["tickets:write"])

    # helpdesk declares tickets:write on its ticket endpoints.
    refused = await stack.gateway.get("/api/v1/tickets", headers=reader)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "tickets:write" in refused.json()["detail"]
    assert (await stack.gateway.get("/api/v1/tickets", headers=ticketing)).status_code == 200

    # identity's /me describes a key that may read.
    assert (await stack.gateway.get("/api/v1/me", headers=reader)).status_code == 200
    assert (await stack.gateway.get("/api/v1/me", headers=ticketing)).status_code == 403

    # An endpoint that declares no scope is closed to every key (dongle's key list).
    for key in (reader, ticketing):
        closed = await stack.gateway.get("/api/v1/keys", headers=key)
        assert closed.status_code == 403, closed.text
        assert closed.json()["detail"] == "This endpoint is not open to API keys"
