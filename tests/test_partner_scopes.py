"""API-key scopes through the gateway: a key reaches only endpoints that declare a scope it
carries; everything else is a 403, whatever the service."""

import uuid

from services.licensing.tests.factories import contract_body
from shared.testing.plugin import eventually
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.stories import issue_api_key, licensing_knows, register_company, sign_in


async def issue(stack: Stack, organization_id: str, scopes: list[str]) -> dict[str, str]:
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    issued = await issue_api_key(stack, admin, organization_id, scopes)
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


async def test_a_partner_acts_only_for_the_customers_licensing_linked_to_it(stack: Stack):
    """A partner's key opens tickets and imports keys for an organization once a contract the
    partner imported is in that organization's account; for any other organization it gets
    the answer an organization that does not exist gets."""
    partner = await register_company(stack)
    customer = await register_company(stack)
    bystander = await register_company(stack)
    key = await issue(
        stack, partner["organization_id"], ["contracts:write", "licenses:write", "tickets:write"]
    )

    def ticket_for(organization_id: str) -> dict:
        return {
            "subject": "Не активируется лицензия",
            "description": "Клиент переустановил Windows",
            "product_code": "BAZIS_FURNITURE",
            "category": "question",
            "organization_id": organization_id,
        }

    async def open_for(organization_id: str):
        return await stack.gateway.post(
            "/api/v1/tickets", json=ticket_for(organization_id), headers=key
        )

    not_yet = await open_for(customer["organization_id"])
    assert not_yet.status_code == 422, not_yet.text

    imported = await stack.gateway.post(
        "/api/v1/contracts",
        json=contract_body(
            licensee={
                "inn": customer["inn"],
                "kpp": None,
                "name": "ООО Ромашка",
                "email": customer["email"],
            }
        ),
        headers=key,
    )
    assert imported.status_code == 201, imported.text
    contact = await sign_in(stack, customer["email"])
    await eventually(lambda: licensing_knows(stack, customer["email"]))
    terms = (await stack.gateway.get("/api/v1/upload-requests/terms")).json()
    uploaded = await stack.gateway.post(
        "/api/v1/upload-requests",
        json={
            "numbers": [imported.json()["number"]],
            "terms_version": terms["version"],
            "accept_terms": True,
        },
        headers=contact,
    )
    assert uploaded.json()["status"] == "approved", uploaded.text

    # licensing states the link; helpdesk and dongle apply it from the bus.
    opened: list = []

    async def ticket_opened() -> bool:
        response = await open_for(customer["organization_id"])
        if response.status_code == 201:
            opened.append(response.json())
        return bool(opened)

    await eventually(ticket_opened, timeout=30)

    async def key_imported() -> bool:
        response = await stack.gateway.post(
            "/api/v1/keys",
            json={
                "serial": f"3-{uuid.uuid4().int % 10**9:09d}",
                "kind": "codemeter",
                "organization_inn": customer["inn"],
            },
            headers=key,
        )
        return response.status_code == 201 and (
            response.json()["organization_id"] == customer["organization_id"]
        )

    await eventually(key_imported, timeout=30)

    refused = [await open_for(bystander["organization_id"]), await open_for(str(uuid.uuid4()))]
    assert [r.status_code for r in refused] == [422, 422]
    assert refused[0].json()["errors"] == refused[1].json()["errors"]
    assert refused[0].json()["errors"][0]["field"] == "organization_id"
    keys_refused = [
        await stack.gateway.post(
            "/api/v1/keys",
            json={"serial": f"3-{uuid.uuid4().int % 10**9:09d}", "kind": "codemeter", **owner},
            headers=key,
        )
        for owner in (
            {"organization_inn": bystander["inn"]},
            {"organization_id": bystander["organization_id"]},
        )
    ]
    assert [r.status_code for r in keys_refused] == [422, 422], [r.text for r in keys_refused]

    # The partner follows the ticket it opened; the customer sees it too.
    ticket_id = opened[0]["id"]
    assert (await stack.gateway.get(f"/api/v1/tickets/{ticket_id}", headers=key)).status_code == 200
    assert (
        await stack.gateway.get(f"/api/v1/tickets/{ticket_id}", headers=contact)
    ).status_code == 200
