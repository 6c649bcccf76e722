"""Rule 5: locked data changes only through a data-change request an admin approves or rejects."""

import asyncio
import uuid
from typing import Any

from services.identity.models import Organization, User
from services.identity.tests.organization_factories import (
    BANK,
    add_contact,
    add_organization,
    add_sole_proprietor,
    add_staff,
    as_accountant,
    as_new_admin,
    as_user,
    reload,
    staged_events,
)

# The requests below change a field or two of the bank the organization has.
NEW_BANK = BANK


async def ask(identity, user, body):
    return await identity.client.post(
        "/api/v1/change-requests", json=body, headers=as_user(identity, user)
    )


async def org_with_responsible(identity):
    organization = await add_organization(identity)
    return organization, await add_contact(identity, organization, responsible=True)


async def events_for(identity, event_type, request_id):
    return [
        envelope
        for envelope in await staged_events(identity, event_type)
        if envelope["data"]["change_request_id"] == request_id
    ]


async def test_contact_asks_to_change_requisites_and_nothing_changes_yet(identity):
    organization, responsible = await org_with_responsible(identity)

    response = await ask(
        identity,
        responsible,
        {
            "organization": {"kpp": "773601002", "director_name": "Сидорова Анна Петровна"},
            "comment": "new director",
        },
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "pending"
    assert body["price_code"] == "DATA_CHANGE"
    assert body["target"] == "organization" and body["user_id"] is None
    assert body["organization_id"] == str(organization.id)
    assert body["requested_by"] == str(responsible.id)
    assert body["comment"] == "new director"
    assert body["changes"]["kpp"] == {"old": "773601001", "new": "773601002"}
    # Rule 4: the genitive of the new director's name is suggested.
    assert body["changes"]["director_name_genitive"] == {
        "old": "Иванова Ивана Ивановича",
        "new": "Сидоровой Анны Петровны",
    }
    assert (await reload(identity, Organization, organization.id)).kpp == "773601001"


async def test_wrong_new_requisites_are_422_naming_each_field(identity):
    _, responsible = await org_with_responsible(identity)

    response = await ask(
        identity,
        responsible,
        {
            "organization": {
                "kpp": "77360100",
                "ogrn": "1027700132196",
                "okved": "62-01",
                "bank": {**NEW_BANK, "settlement_account": "40702810400000000006"},
                "legal_address": {
                    "postal_code": "1179",
                    "region": "г. Москва",
                    "locality": "Москва",
                    "line": "г. Москва",
                },
                "full_name": "ООО «Ромашка»",
            }
        },
    )

    assert response.status_code == 422
    fields = {error["field"] for error in response.json()["errors"]}
    assert fields == {
        "organization.kpp",
        "organization.ogrn",
        "organization.okved",
        "organization.bank.settlement_account",
        "organization.legal_address.postal_code",
        "organization.full_name",
    }


async def test_bank_and_address_are_completed_from_the_directories(identity):
    _, responsible = await org_with_responsible(identity)
    line = "117997, г. Москва, ул. Вавилова, д. 21"

    response = await ask(
        identity,
        responsible,
        {
            "organization": {
                "bank": {"bik": "044525225", "settlement_account": "40702810900000000000"},
                "legal_address": {"postal_code": "117997", "street": "ул. Вавилова", "line": line},
                "actual_address": None,
            }
        },
    )

    assert response.status_code == 201, response.text
    changes = response.json()["changes"]
    assert changes["bank"]["new"] == {
        "bik": "044525225",
        "name": "ПАО Сбербанк",  # from the BIK directory
        "settlement_account": "40702810900000000000",
        "correspondent_account": "30101810400000000225",
    }
    legal = changes["legal_address"]["new"]
    assert legal["region"] and legal["locality"] and legal["line"] == line
    # "The same as the legal address" is kept as a copy of the new legal address.
    assert changes["actual_address"] == {"old": None, "new": legal}


async def test_a_sole_proprietor_cannot_be_given_a_kpp(identity):
    proprietor = await add_sole_proprietor(identity)
    contact = await add_contact(identity, proprietor, responsible=True)

    response = await ask(identity, contact, {"organization": {"kpp": "773601002"}})

    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "organization.kpp", "message": "a sole proprietor has no KPP"}
    ]


async def test_fields_that_are_not_changeable_are_refused(identity):
    _, responsible = await org_with_responsible(identity)
    bodies: list[dict[str, Any]] = [
        {"organization": {"inn": "7736207543"}},
        {"user": {"password": "whatever-long"}},
        {"organization": {}},
        {},
        {"organization": {"kpp": "773601002"}, "user": {"full_name": "X"}},
    ]
    for body in bodies:
        response = await ask(identity, responsible, body)
        assert response.status_code == 422, body


async def test_asking_for_the_current_values_is_refused(identity):
    _, responsible = await org_with_responsible(identity)

    response = await ask(identity, responsible, {"organization": {"kpp": "773601001"}})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "organization"


async def test_approval_applies_the_change_and_stages_organization_updated(identity):
    organization, responsible = await org_with_responsible(identity)
    new_bank = {**NEW_BANK, "name": "ПАО Сбербанк России"}
    created = (
        await ask(
            identity,
            responsible,
            {"organization": {"kpp": "773601002", "short_name": "ООО Лютик", "bank": new_bank}},
        )
    ).json()
    identity.clock.advance(hours=2)

    response = await identity.client.post(
        f"/api/v1/change-requests/{created['id']}/approve", headers=await as_new_admin(identity)
    )

    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "approved"
    assert decided["decided_at"] is not None and decided["decided_by"] is not None
    changed = await reload(identity, Organization, organization.id)
    assert changed.kpp == "773601002"
    assert changed.short_name == "ООО Лютик"
    assert changed.requisites["bank"]["name"] == "ПАО Сбербанк России"
    assert changed.requisites["ogrn"] == "1027700132195"  # untouched requisites stay
    assert changed.updated_at == identity.clock.now()

    [envelope] = await events_for(identity, "identity.organization.updated", created["id"])
    data = envelope["data"]
    assert data["organization_id"] == str(organization.id)
    assert data["changes"] == {
        "kpp": {"old": "773601001", "new": "773601002"},
        "name": {"old": "ООО Ромашка", "new": "ООО Лютик"},
        "bank.name": {"old": "ПАО Сбербанк", "new": "ПАО Сбербанк России"},
    }
    assert data["kpp"] == "773601002" and data["name"] == "ООО Лютик"
    assert data["inn"] == "7707083893" and data["resident"] is True


async def test_okved_change_rederives_the_classification(identity):
    organization, responsible = await org_with_responsible(identity)
    created = (await ask(identity, responsible, {"organization": {"okved": "47.11"}})).json()
    assert created["changes"]["classification"]["new"].startswith("G — ")

    await identity.client.post(
        f"/api/v1/change-requests/{created['id']}/approve", headers=await as_new_admin(identity)
    )

    changed = await reload(identity, Organization, organization.id)
    assert changed.requisites["okved"] == "47.11"
    assert changed.requisites["classification"].startswith("G — ")


async def test_rejection_needs_a_reason_and_leaves_the_data_unchanged(identity):
    organization, responsible = await org_with_responsible(identity)
    created = (await ask(identity, responsible, {"organization": {"kpp": "773601002"}})).json()
    admin = await as_new_admin(identity)
    path = f"/api/v1/change-requests/{created['id']}/reject"

    assert (await identity.client.post(path, json={}, headers=admin)).status_code == 422
    assert (await identity.client.post(path, json={"reason": ""}, headers=admin)).status_code == 422
    response = await identity.client.post(
        path, json={"reason": "No supporting documents"}, headers=admin
    )

    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    assert response.json()["decision_reason"] == "No supporting documents"
    assert (await reload(identity, Organization, organization.id)).kpp == "773601001"
    assert await events_for(identity, "identity.organization.updated", created["id"]) == []


async def test_a_decided_request_cannot_be_decided_again(identity):
    _, responsible = await org_with_responsible(identity)
    admin = await as_new_admin(identity)
    approved = (await ask(identity, responsible, {"organization": {"kpp": "773601002"}})).json()
    rejected = (await ask(identity, responsible, {"organization": {"kpp": "773601003"}})).json()
    base = "/api/v1/change-requests"
    await identity.client.post(f"{base}/{approved['id']}/approve", headers=admin)
    await identity.client.post(
        f"{base}/{rejected['id']}/reject", json={"reason": "no"}, headers=admin
    )

    for request_id in (approved["id"], rejected["id"]):
        again = await identity.client.post(f"{base}/{request_id}/approve", headers=admin)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
        once_more = await identity.client.post(
            f"{base}/{request_id}/reject", json={"reason": "x"}, headers=admin
        )
        assert once_more.status_code == 409
    assert len(await events_for(identity, "identity.organization.updated", approved["id"])) == 1


async def test_two_admins_approving_at_once_apply_it_once(identity):
    _, responsible = await org_with_responsible(identity)
    created = (await ask(identity, responsible, {"organization": {"kpp": "773601002"}})).json()
    path = f"/api/v1/change-requests/{created['id']}/approve"
    first, second = await as_new_admin(identity), await as_new_admin(identity)

    answers = await asyncio.gather(
        identity.client.post(path, headers=first), identity.client.post(path, headers=second)
    )

    assert sorted(answer.status_code for answer in answers) == [200, 409]
    assert len(await events_for(identity, "identity.organization.updated", created["id"])) == 1


async def test_contact_changes_own_email_and_phone_through_approval(identity):
    organization, _ = await org_with_responsible(identity)
    contact = await add_contact(identity, organization)
    new_email = f"New-{uuid.uuid4().hex[:8]}@Example.RU"

    created = await ask(
        identity, contact, {"user": {"email": new_email, "phone": "8 (916) 555-12-34"}}
    )

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["target"] == "user" and body["user_id"] == str(contact.id)
    assert body["changes"]["email"]["new"] == new_email.lower()
    assert body["changes"]["phone"] == {"old": "+79161234567", "new": "+79165551234"}
    assert (await reload(identity, User, contact.id)).email == contact.email

    approved = await identity.client.post(
        f"/api/v1/change-requests/{body['id']}/approve", headers=await as_new_admin(identity)
    )

    assert approved.status_code == 200
    changed = await reload(identity, User, contact.id)
    assert changed.email == new_email.lower() and changed.phone == "+79165551234"
    [envelope] = await events_for(identity, "identity.user.updated", body["id"])
    assert envelope["data"]["user_id"] == str(contact.id)
    assert envelope["data"]["changes"] == {
        "email": {"old": contact.email, "new": new_email.lower()},
        "phone": {"old": "+79161234567", "new": "+79165551234"},
    }
    assert envelope["data"]["email"] == new_email.lower()


async def test_wrong_personal_data_is_422(identity):
    _, responsible = await org_with_responsible(identity)
    response = await ask(
        identity, responsible, {"user": {"email": "not-an-email", "phone": "12", "full_name": " "}}
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {
        "user.email",
        "user.phone",
        "user.full_name",
    }


async def test_only_the_responsible_person_asks_for_another_contact(identity):
    organization, responsible = await org_with_responsible(identity)
    colleague = await add_contact(identity, organization)
    another = await add_contact(identity, organization)

    by_responsible = await ask(
        identity, responsible, {"user_id": str(colleague.id), "user": {"full_name": "Новое Имя"}}
    )
    by_colleague = await ask(
        identity, colleague, {"user_id": str(another.id), "user": {"full_name": "Новое Имя"}}
    )

    assert by_responsible.status_code == 201
    assert by_responsible.json()["user_id"] == str(colleague.id)
    assert by_colleague.status_code == 403


async def test_a_contact_of_another_organization_cannot_be_named(identity):
    _, responsible = await org_with_responsible(identity)
    stranger = await add_contact(identity, await add_organization(identity))

    response = await ask(
        identity, responsible, {"user_id": str(stranger.id), "user": {"full_name": "Чужой"}}
    )

    assert response.status_code == 404


async def test_an_email_another_contact_of_the_organization_uses_is_409(identity):
    organization, responsible = await org_with_responsible(identity)
    colleague = await add_contact(identity, organization)

    response = await ask(identity, responsible, {"user": {"email": colleague.email}})

    assert response.status_code == 409


async def test_an_email_taken_after_the_request_is_409_at_approval(identity):
    organization, responsible = await org_with_responsible(identity)
    colleague = await add_contact(identity, organization)
    wanted = f"shared-{uuid.uuid4().hex[:8]}@example.ru"
    first = (await ask(identity, responsible, {"user": {"email": wanted}})).json()
    second = (await ask(identity, colleague, {"user": {"email": wanted}})).json()
    admin = await as_new_admin(identity)
    base = "/api/v1/change-requests"

    assert (await identity.client.post(f"{base}/{first['id']}/approve", headers=admin)).is_success
    late = await identity.client.post(f"{base}/{second['id']}/approve", headers=admin)

    assert late.status_code == 409
    assert (await reload(identity, User, colleague.id)).email == colleague.email
    assert (await identity.client.get(f"{base}/{second['id']}", headers=admin)).json()[
        "status"
    ] == "pending"


async def test_contacts_see_only_their_organizations_requests(identity):
    own, responsible = await org_with_responsible(identity)
    colleague = await add_contact(identity, own)
    other, stranger = await org_with_responsible(identity)
    mine = (await ask(identity, responsible, {"organization": {"kpp": "773601002"}})).json()
    theirs = (await ask(identity, stranger, {"organization": {"kpp": "773601003"}})).json()
    headers = as_user(identity, colleague)

    listed = await identity.client.get("/api/v1/change-requests", headers=headers)
    assert listed.status_code == 200
    assert [item["id"] for item in listed.json()["items"]] == [mine["id"]]
    assert (
        await identity.client.get(f"/api/v1/change-requests/{mine['id']}", headers=headers)
    ).status_code == 200
    assert (
        await identity.client.get(f"/api/v1/change-requests/{theirs['id']}", headers=headers)
    ).status_code == 404
    assert (
        await identity.client.get(
            "/api/v1/change-requests", params={"organization_id": str(other.id)}, headers=headers
        )
    ).status_code == 404


async def test_admin_lists_all_requests_filtered_by_status_and_paginated(identity):
    org_a, contact_a = await org_with_responsible(identity)
    org_b, contact_b = await org_with_responsible(identity)
    admin = await as_new_admin(identity)
    first = (await ask(identity, contact_a, {"organization": {"kpp": "773601002"}})).json()
    second = (await ask(identity, contact_b, {"organization": {"kpp": "773601003"}})).json()
    third = (await ask(identity, contact_b, {"organization": {"kpp": "773601004"}})).json()
    await identity.client.post(
        f"/api/v1/change-requests/{third['id']}/reject", json={"reason": "no"}, headers=admin
    )

    pending_ids, cursor = [], None
    while True:
        params = {"status": "pending", "limit": 1} | ({"cursor": cursor} if cursor else {})
        page = (
            await identity.client.get("/api/v1/change-requests", params=params, headers=admin)
        ).json()
        pending_ids += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert first["id"] in pending_ids and second["id"] in pending_ids
    assert third["id"] not in pending_ids
    assert pending_ids.index(first["id"]) < pending_ids.index(second["id"])
    by_org = (
        await identity.client.get(
            "/api/v1/change-requests", params={"organization_id": str(org_b.id)}, headers=admin
        )
    ).json()
    assert {item["id"] for item in by_org["items"]} == {second["id"], third["id"]}
    assert org_a.id != org_b.id


async def test_only_an_admin_decides(identity):
    _, responsible = await org_with_responsible(identity)
    created = (await ask(identity, responsible, {"organization": {"kpp": "773601002"}})).json()
    agent = as_user(identity, await add_staff(identity, "agent"))
    path = f"/api/v1/change-requests/{created['id']}"

    for headers in (as_user(identity, responsible), agent):
        assert (await identity.client.post(f"{path}/approve", headers=headers)).status_code == 403
        assert (
            await identity.client.post(f"{path}/reject", json={"reason": "x"}, headers=headers)
        ).status_code == 403
    assert (await identity.client.post(f"{path}/approve")).status_code == 401
    assert (await identity.client.get(path, headers=agent)).json()["status"] == "pending"


async def test_only_a_contact_asks_for_a_change(identity):
    organization, _ = await org_with_responsible(identity)
    body = {"organization": {"kpp": "773601002"}}
    for headers in (
        as_accountant(identity, organization),
        as_user(identity, await add_staff(identity, "admin")),
    ):
        response = await identity.client.post("/api/v1/change-requests", json=body, headers=headers)
        assert response.status_code == 403
    accountant_list = await identity.client.get(
        "/api/v1/change-requests", headers=as_accountant(identity, organization)
    )
    assert accountant_list.status_code == 403


async def test_unknown_change_request_is_404(identity):
    admin = await as_new_admin(identity)
    missing = uuid.uuid4()
    assert (
        await identity.client.get(f"/api/v1/change-requests/{missing}", headers=admin)
    ).status_code == 404
    assert (
        await identity.client.post(f"/api/v1/change-requests/{missing}/approve", headers=admin)
    ).status_code == 404
