"""Through the gateway: an admin imports a contract, the company's contact uploads it into the
account (approved on the contract's e-mail and INN), and the company's accountant signs in with
the INN and the contract number and reads the reconciliation statement."""

import uuid

from services.licensing.tests.factories import PDF, act_body, contract_body
from shared.testing.plugin import eventually
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.stories import licensing_knows, register_company, sign_in


async def test_import_upload_and_the_accountant_reads_the_reconciliation(stack: Stack):
    company = await register_company(stack)
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    number = f"ЛД-2026/{uuid.uuid4().hex[:6]}"
    act_number = f"А-{uuid.uuid4().hex[:8]}"
    imported = await stack.gateway.post(
        "/api/v1/contracts",
        json=contract_body(
            number=number,
            date="2026-11-20",
            licensee={
                "inn": company["inn"],
                "kpp": None,
                "name": "ООО Ромашка",
                "email": company["email"],
            },
            licenses=[
                {
                    "product_code": "BAZIS_FURNITURE",
                    "edition": "Профессионал",
                    "seats": 2,
                    "starts_at": "2026-11-20",
                    "expires_at": "2099-11-19",
                    "key_serial": "3-1234567",
                }
            ],
            acts=[act_body(act_number, "2026-11-20")],
        ),
        headers=admin,
    )
    assert imported.status_code == 201, imported.text
    code = imported.json()["licenses"][0]["activation_code"]

    contact = await sign_in(stack, company["email"])
    await eventually(lambda: licensing_knows(stack, company["email"]))
    terms = (await stack.gateway.get("/api/v1/upload-requests/terms")).json()
    uploaded = await stack.gateway.post(
        "/api/v1/upload-requests",
        json={"numbers": [number], "terms_version": terms["version"], "accept_terms": True},
        headers=contact,
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["status"] == "approved"
    licenses = (await stack.gateway.get("/api/v1/licenses", headers=contact)).json()["items"]
    assert [lic["activation_code"] for lic in licenses] == [code]
    validated = await stack.gateway.post(
        "/api/v1/licenses/validate", json={"activation_code": code, "key_serial": "3-1234567"}
    )
    assert validated.json()["code"] == "VALID"

    async def accountant_signed_in():
        response = await stack.gateway.post(
            "/api/v1/auth/accountant", json={"inn": company["inn"], "contract_number": number}
        )
        return response if response.status_code == 200 else None

    token = (await eventually(accountant_signed_in)).json()["access_token"]
    accountant = {"Authorization": f"Bearer {token}"}
    statement = await stack.gateway.get(
        "/api/v1/reconciliation",
        params={"from": "2026-11-01", "to": "2026-11-30"},
        headers=accountant,
    )
    assert statement.status_code == 200, statement.text
    assert statement.json()["lines"] == [
        {
            "date": "2026-11-20",
            "document": f"Акт {act_number}",
            "debit": "12000.00",
            "credit": "0.00",
        }
    ]
    assert statement.json()["closing_balance"] == "12000.00"
    assert (await stack.gateway.get("/api/v1/licenses", headers=accountant)).status_code == 403
    documents = (
        await stack.gateway.get(f"/api/v1/contracts/{imported.json()['id']}", headers=accountant)
    ).json()["documents"]
    download = await stack.gateway.get(
        f"/api/v1/documents/{documents[0]['id']}", headers=accountant
    )
    assert download.content == PDF


async def test_a_paid_data_change_asked_in_identity_is_invoiced_by_licensing(stack: Stack):
    company = await register_company(stack)
    contact = await sign_in(stack, company["email"])

    asked = await stack.gateway.post(
        "/api/v1/change-requests", json={"organization": {"kpp": "773645001"}}, headers=contact
    )
    assert asked.status_code == 201, asked.text

    async def invoiced():
        response = await stack.gateway.get("/api/v1/invoices", headers=contact)
        return response.json()["items"] if response.json()["items"] else None

    [invoice] = await eventually(invoiced)
    assert invoice["reference"] == {
        "service": "identity",
        "kind": "data_change_request",
        "id": asked.json()["id"],
    }
    assert invoice["items"][0]["code"] == "DATA_CHANGE"
