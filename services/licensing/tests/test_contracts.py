"""Rule 2: contracts imported with licenses, acts and documents (admin or a partner's key with
`contracts:write`, `Idempotency-Key` honoured), all or nothing; files kept outside the rows."""

import base64
import uuid
from typing import Any

from sqlalchemy import func, select

from services.licensing.licenses.activation_code import normalize
from services.licensing.models import Contract
from services.licensing.tests.factories import (
    PDF,
    attached_contract,
    contract_body,
    import_contract,
    unique_number,
)


async def contract_count(licensing, number):
    async with licensing.app.state.sessionmaker() as session:
        return await session.scalar(
            select(func.count()).select_from(Contract).where(Contract.number == number)
        )


async def test_an_import_answers_the_licenses_with_their_activation_codes_and_the_acts(licensing):
    body = contract_body()
    response = await licensing.client.post(
        "/api/v1/contracts", json=body, headers=licensing.as_admin()
    )

    assert response.status_code == 201, response.text
    imported = response.json()
    assert imported["number"] == body["number"]
    [license_] = imported["licenses"]
    assert normalize(license_["activation_code"]) == license_["activation_code"]
    assert license_["product_code"] == "BAZIS_FURNITURE"
    assert license_["product_name"] == "БАЗИС-Мебельщик"
    assert (license_["status"], license_["expires_at"]) == ("active", "2027-10-19")
    assert license_["key_serial"] == body["licenses"][0]["key_serial"]
    assert license_["contract_id"] == imported["id"]
    assert [act["number"] for act in imported["acts"]] == [body["acts"][0]["number"]]


async def test_an_imported_contract_is_in_no_account_until_uploaded(licensing):
    imported = await import_contract(licensing)
    org = uuid.uuid4()

    listed = await licensing.client.get("/api/v1/contracts", headers=licensing.as_contact(org))
    one = await licensing.client.get(
        f"/api/v1/contracts/{imported['id']}", headers=licensing.as_contact(org)
    )
    staff = await licensing.client.get(
        f"/api/v1/contracts/{imported['id']}", headers=licensing.as_agent()
    )

    assert listed.json()["items"] == []
    assert one.status_code == 404
    assert staff.status_code == 200


async def test_a_second_import_of_a_number_is_409_and_changes_nothing(licensing):
    imported = await import_contract(licensing)

    again = await licensing.client.post(
        "/api/v1/contracts",
        json=contract_body(number=imported["number"]),
        headers=licensing.as_admin(),
    )

    assert again.status_code == 409
    assert await contract_count(licensing, imported["number"]) == 1


async def test_a_partner_imports_with_contracts_write_and_a_retry_creates_nothing_twice(licensing):
    partner = uuid.uuid4()
    body = contract_body()
    headers = {**licensing.as_api_key(partner, ("contracts:write",)), "Idempotency-Key": "imp-1"}

    first = await licensing.client.post("/api/v1/contracts", json=body, headers=headers)
    retry = await licensing.client.post("/api/v1/contracts", json=body, headers=headers)
    no_scope = await licensing.client.post(
        "/api/v1/contracts",
        json=contract_body(),
        headers=licensing.as_api_key(partner, ("read", "licenses:write")),
    )
    contact = await licensing.client.post(
        "/api/v1/contracts", json=contract_body(), headers=licensing.as_contact()
    )

    assert first.status_code == retry.status_code == 201, first.text
    assert retry.json() == first.json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert await contract_count(licensing, body["number"]) == 1
    assert (no_scope.status_code, contact.status_code) == (403, 403)
    # The partner sees what it imported; another partner does not.
    mine = await licensing.client.get(
        f"/api/v1/contracts/{first.json()['id']}", headers=licensing.as_api_key(partner)
    )
    other = await licensing.client.get(
        f"/api/v1/contracts/{first.json()['id']}", headers=licensing.as_api_key(uuid.uuid4())
    )
    assert (mine.status_code, other.status_code) == (200, 404)


async def test_bad_input_names_the_field_and_writes_nothing(licensing):
    good = contract_body()
    license_ = good["licenses"][0]
    act = good["acts"][0]
    document = good["documents"][0]
    cases: list[tuple[dict[str, Any], str]] = [
        ({"licenses": [{**license_, "product_code": "NO_SUCH"}]}, "licenses[0].product_code"),
        ({"licenses": [{**license_, "seats": 0}]}, "licenses[0].seats"),
        (
            {"licenses": [{**license_, "expires_at": "2026-01-01"}]},
            "licenses[0].expires_at",
        ),
        ({"licensee": {**good["licensee"], "email": "not-an-email"}}, "licensee.email"),
        ({"licensee": {**good["licensee"], "kpp": "12"}}, "licensee.kpp"),
        ({"acts": [{**act, "issued_by": "someone"}]}, "acts[0].issued_by"),
        ({"acts": [act, act]}, "acts[1].number"),
        (
            {"acts": [{**act, "items": [{**act["items"][0], "amount": "-1"}]}]},
            "acts[0].items[0].amount",
        ),
        ({"documents": [{**document, "content_type": "text/html"}]}, "documents[0].content_type"),
        (
            {"documents": [{**document, "content_base64": "***"}]},
            "documents[0].content_base64",
        ),
        (
            {
                "documents": [
                    {**document, "content_base64": base64.b64encode(b"MZ\x90\x00").decode()}
                ]
            },
            "documents[0].content_base64",
        ),
        ({"date": "20.11.2026"}, "date"),
        ({"number": ""}, "number"),
    ]
    for change, field in cases:
        body = {**good, "number": unique_number(), **change}
        response = await licensing.client.post(
            "/api/v1/contracts", json=body, headers=licensing.as_admin()
        )
        assert response.status_code == 422, (field, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        assert field in [error["field"] for error in response.json()["errors"]], (
            field,
            response.json(),
        )
        assert await contract_count(licensing, body["number"]) == 0


async def test_a_file_over_the_size_limit_is_refused(licensing, monkeypatch):
    monkeypatch.setattr(licensing.app.state.runtime.settings, "document_max_bytes", len(PDF) - 1)
    body = contract_body()

    response = await licensing.client.post(
        "/api/v1/contracts", json=body, headers=licensing.as_admin()
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "documents[0].content_base64"
    assert await contract_count(licensing, body["number"]) == 0


async def test_an_act_number_imported_already_refuses_the_whole_contract(licensing):
    first = await import_contract(licensing)
    body = contract_body()
    body["acts"][0]["number"] = first["acts"][0]["number"]

    response = await licensing.client.post(
        "/api/v1/contracts", json=body, headers=licensing.as_admin()
    )

    assert response.status_code == 409
    assert await contract_count(licensing, body["number"]) == 0


async def test_documents_are_downloaded_by_the_organization_its_accountant_and_staff(licensing):
    org, contact, contract = await attached_contract(licensing)
    read = await licensing.client.get(f"/api/v1/contracts/{contract['id']}", headers=contact)
    [document] = read.json()["documents"]
    path = f"/api/v1/documents/{document['id']}"
    store = licensing.settings.documents_dir

    for headers in (contact, licensing.as_accountant(org), licensing.as_agent()):
        response = await licensing.client.get(path, headers=headers)
        assert response.status_code == 200
        assert response.content == PDF
        assert response.headers["content-type"] == "application/pdf"
    for headers in (
        licensing.as_contact(uuid.uuid4()),
        licensing.as_accountant(uuid.uuid4()),
        licensing.as_api_key(uuid.uuid4()),
    ):
        assert (await licensing.client.get(path, headers=headers)).status_code == 404
    assert (await licensing.client.get(path)).status_code == 401
    # The bytes live in the store, not in the row.
    assert any(p.read_bytes() == PDF for p in store.rglob("*") if p.is_file())
    assert document["size"] == len(PDF)


async def test_the_accountant_reads_contracts_and_acts_but_not_licenses(licensing):
    org, _, contract = await attached_contract(licensing)
    accountant = licensing.as_accountant(org)

    contracts = await licensing.client.get("/api/v1/contracts", headers=accountant)
    acts = await licensing.client.get("/api/v1/acts", headers=accountant)
    licenses = await licensing.client.get("/api/v1/licenses", headers=accountant)
    certificates = await licensing.client.get("/api/v1/support-certificates", headers=accountant)

    [seen] = contracts.json()["items"]
    assert seen["id"] == contract["id"] and seen["licenses"] == []
    assert [act["number"] for act in acts.json()["items"]] == [contract["acts"][0]["number"]]
    assert acts.json()["items"][0]["total"] == "12000.00"
    assert (licenses.status_code, certificates.status_code) == (403, 403)
    other = await licensing.client.get(
        "/api/v1/acts", headers=licensing.as_accountant(uuid.uuid4())
    )
    assert other.json()["items"] == []


async def test_a_document_whose_file_is_gone_is_a_problem_not_a_server_error(licensing):
    _org, contact, contract = await attached_contract(licensing)
    read = await licensing.client.get(f"/api/v1/contracts/{contract['id']}", headers=contact)
    [document] = read.json()["documents"]
    for path in licensing.settings.documents_dir.rglob("*"):
        if path.is_file() and path.name == uuid.UUID(document["id"]).hex:
            path.unlink()

    response = await licensing.client.get(f"/api/v1/documents/{document['id']}", headers=contact)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_act_lines_adding_up_past_the_largest_amount_are_422(licensing):
    body = contract_body()
    item = {"code": "SUPPORT_PAID_12M", "name": "ТП", "quantity": 1, "amount": "9999999999999.99"}
    body["acts"][0]["items"] = [item, item]

    response = await licensing.client.post(
        "/api/v1/contracts", json=body, headers=licensing.as_admin()
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "acts[0].items"
    assert await contract_count(licensing, body["number"]) == 0
