"""Rule 3: upload of contracts into the account — terms accepted and recorded, automatic
approval on the contract's e-mail and the INN, admin review otherwise, and what approval
publishes."""

import uuid

from services.licensing.tests.factories import (
    events_about,
    import_contract,
    known_contact,
    known_organization,
    upload,
)
from services.licensing.uploads.terms import TERMS_VERSION


async def test_the_terms_in_force_are_readable_by_anyone(licensing):
    response = await licensing.client.get("/api/v1/upload-requests/terms")

    assert response.status_code == 200
    assert response.json()["version"] == TERMS_VERSION
    assert "юридически значимыми" in response.json()["text"]


async def test_the_licensee_email_and_inn_approve_at_once_and_attach_everything(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "IT@Romashka.ru")
    contract = await import_contract(licensing)

    response = await upload(licensing, contact, contract["number"])

    assert response.status_code == 201, response.text
    request = response.json()
    assert request["status"] == "approved"
    assert request["numbers"] == [contract["number"]]
    assert request["terms_version"] == TERMS_VERSION
    assert request["accepted_at"] == "2026-11-02T09:00:00Z"
    listed = (await licensing.client.get("/api/v1/contracts", headers=contact)).json()["items"]
    assert [c["id"] for c in listed] == [contract["id"]]
    licenses = (await licensing.client.get("/api/v1/licenses", headers=contact)).json()["items"]
    assert [lic["id"] for lic in licenses] == [contract["licenses"][0]["id"]]
    [attached] = await events_about(
        licensing, "licensing.contract.attached", "contract_id", contract["id"]
    )
    assert attached["organization_id"] == str(org)
    assert attached["licensee_inn"] == "7707083893"
    assert attached["upload_request_id"] == request["id"]
    [issued] = await events_about(
        licensing, "licensing.license.issued", "license_id", contract["licenses"][0]["id"]
    )
    assert issued["organization_id"] == str(org)
    assert issued["key_serial"] == contract["licenses"][0]["key_serial"]
    assert issued["expires_at"] == "2027-10-19"


async def test_the_end_users_email_approves_too(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "buyer@shop.ru")
    contract = await import_contract(licensing, end_user_email="buyer@shop.ru")

    assert (await upload(licensing, contact, contract["number"])).json()["status"] == "approved"


async def test_another_email_or_another_inn_waits_for_an_admin(licensing):
    org = await known_organization(licensing)
    stranger = await known_contact(licensing, org, "someone@else.ru")
    other_inn_org = await known_organization(licensing, inn="7736207543")
    other_inn = await known_contact(licensing, other_inn_org, "it@romashka.ru")

    for contact in (stranger, other_inn):
        contract = await import_contract(licensing)
        response = await upload(licensing, contact, contract["number"])
        assert response.status_code == 201
        assert response.json()["status"] == "pending"
        assert (await licensing.client.get("/api/v1/contracts", headers=contact)).json()[
            "items"
        ] == []
        assert (
            await events_about(
                licensing, "licensing.contract.attached", "contract_id", contract["id"]
            )
            == []
        )


async def test_an_admin_approves_or_rejects_a_pending_request_once(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "someone@else.ru")
    contract = await import_contract(licensing)
    pending = (await upload(licensing, contact, contract["number"])).json()

    queue = await licensing.client.get(
        "/api/v1/upload-requests", params={"status": "pending"}, headers=licensing.as_admin()
    )
    assert pending["id"] in [r["id"] for r in queue.json()["items"]]
    by_contact = await licensing.client.post(
        f"/api/v1/upload-requests/{pending['id']}/approve", headers=contact
    )
    approved = await licensing.client.post(
        f"/api/v1/upload-requests/{pending['id']}/approve", headers=licensing.as_admin()
    )
    again = await licensing.client.post(
        f"/api/v1/upload-requests/{pending['id']}/reject",
        json={"reason": "late"},
        headers=licensing.as_admin(),
    )

    assert by_contact.status_code == 403
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert again.status_code == 409
    listed = (await licensing.client.get("/api/v1/contracts", headers=contact)).json()["items"]
    assert [c["id"] for c in listed] == [contract["id"]]

    other = await import_contract(licensing)
    second = (await upload(licensing, contact, other["number"])).json()
    rejected = await licensing.client.post(
        f"/api/v1/upload-requests/{second['id']}/reject",
        json={"reason": "Не совпадает e-mail"},
        headers=licensing.as_admin(),
    )
    assert rejected.json()["status"] == "rejected"
    assert rejected.json()["reason"] == "Не совпадает e-mail"
    mine = await licensing.client.get("/api/v1/upload-requests", headers=contact)
    assert {r["id"]: r["status"] for r in mine.json()["items"]} == {
        pending["id"]: "approved",
        second["id"]: "rejected",
    }


async def test_a_contract_in_another_account_is_never_moved(licensing):
    first_org = await known_organization(licensing)
    first = await known_contact(licensing, first_org, "it@romashka.ru")
    contract = await import_contract(licensing)
    assert (await upload(licensing, first, contract["number"])).json()["status"] == "approved"
    second_org = await known_organization(licensing)
    second = await known_contact(licensing, second_org, "it@romashka.ru")

    request = (await upload(licensing, second, contract["number"])).json()
    approve = await licensing.client.post(
        f"/api/v1/upload-requests/{request['id']}/approve", headers=licensing.as_admin()
    )

    assert request["status"] == "pending"
    assert approve.status_code == 409
    seen = await licensing.client.get(f"/api/v1/contracts/{contract['id']}", headers=second)
    assert seen.status_code == 404


async def test_terms_not_accepted_an_old_version_or_unknown_numbers_are_422(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "it@romashka.ru")
    contract = await import_contract(licensing)
    good = {"numbers": [contract["number"]], "terms_version": TERMS_VERSION, "accept_terms": True}
    for change, field in (
        ({"accept_terms": False}, "accept_terms"),
        ({"terms_version": "2020-01-01"}, "terms_version"),
        ({"numbers": [contract["number"], "НЕТ-ТАКОГО"]}, "numbers[1]"),
        ({"numbers": []}, "numbers"),
    ):
        response = await licensing.client.post(
            "/api/v1/upload-requests", json={**good, **change}, headers=contact
        )
        assert response.status_code == 422, change
        assert [e["field"] for e in response.json()["errors"]] == [field]
    assert (await licensing.client.get("/api/v1/upload-requests", headers=contact)).json()[
        "items"
    ] == []


async def test_only_a_contact_person_asks_for_an_upload(licensing):
    contract = await import_contract(licensing)
    body = {"numbers": [contract["number"]], "terms_version": TERMS_VERSION, "accept_terms": True}
    for headers, status in (
        (None, 401),
        (licensing.as_accountant(uuid.uuid4()), 403),
        (licensing.as_api_key(uuid.uuid4(), ("read", "contracts:write")), 403),
    ):
        response = await licensing.client.post(
            "/api/v1/upload-requests", json=body, headers=headers
        )
        assert response.status_code == status
