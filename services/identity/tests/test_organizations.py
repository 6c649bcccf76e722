"""Organizations seen by their contacts and staff only; contacts listed; customer numbers."""

import re
import uuid
from datetime import timedelta

from sqlalchemy import delete

from services.identity.models import Organization
from services.identity.tests.organization_factories import (
    add_contact,
    add_organization,
    add_staff,
    as_accountant,
    as_api_key,
    as_user,
    reload,
)


async def test_contact_sees_own_organization_with_requisites(identity):
    organization = await add_organization(identity)
    contact = await add_contact(identity, organization, responsible=True)

    response = await identity.client.get(
        f"/api/v1/organizations/{organization.id}", headers=as_user(identity, contact)
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["id"] == str(organization.id)
    assert body["inn"] == "7707083893" and body["kpp"] == "773601001"
    assert body["ogrn"] == "1027700132195" and body["okved"] == "62.01"
    assert body["bank"]["bik"] == "044525225"
    assert body["legal_address"]["postal_code"] == "117997"
    assert body["actual_address"] is None
    assert body["resident"] is True and body["non_resident"] is False
    assert body["created_at"].endswith("Z")


async def test_customer_number_is_a_string_of_at_least_six_digits(identity):
    organization = await add_organization(identity)
    contact = await add_contact(identity, organization)

    body = (
        await identity.client.get(
            f"/api/v1/organizations/{organization.id}", headers=as_user(identity, contact)
        )
    ).json()

    assert isinstance(body["customer_number"], str)
    assert re.fullmatch(r"\d{6,}", body["customer_number"])
    assert int(body["customer_number"]) == organization.customer_number >= 100001


async def test_customer_numbers_are_unique_and_never_reused(identity):
    first = await add_organization(identity)
    second = await add_organization(identity)
    assert first.customer_number != second.customer_number
    assert second.customer_number > first.customer_number
    # Even a removed organization's number is never handed out again.
    async with identity.app.state.sessionmaker() as session, session.begin():
        await session.execute(delete(Organization).where(Organization.id == second.id))
    third = await add_organization(identity)
    assert third.customer_number > second.customer_number


async def test_staff_see_any_organization(identity):
    organization = await add_organization(identity)
    for role in ("agent", "admin"):
        staff = await add_staff(identity, role)
        response = await identity.client.get(
            f"/api/v1/organizations/{organization.id}", headers=as_user(identity, staff)
        )
        assert response.status_code == 200, role
        contacts = await identity.client.get(
            f"/api/v1/organizations/{organization.id}/contacts", headers=as_user(identity, staff)
        )
        assert contacts.status_code == 200, role


async def test_contact_of_another_organization_gets_404_like_for_a_missing_one(identity):
    own = await add_organization(identity)
    other = await add_organization(identity)
    await add_contact(identity, other)
    contact = await add_contact(identity, own)
    headers = as_user(identity, contact)

    for path in (f"/api/v1/organizations/{other.id}", f"/api/v1/organizations/{other.id}/contacts"):
        response = await identity.client.get(path, headers=headers)
        missing = await identity.client.get(
            path.replace(str(other.id), str(uuid.uuid4())), headers=headers
        )
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
        # The same answer as for an organization that does not exist: nothing is revealed.
        assert response.json()["detail"] == missing.json()["detail"]
        assert missing.status_code == 404


async def test_accountant_and_api_key_do_not_see_the_organization_record(identity):
    organization = await add_organization(identity)
    # An accountant gets what any outsider gets; these endpoints are closed to every API key
    # (they declare no scope), whatever organization is asked for.
    for headers, status in (
        (as_accountant(identity, organization), 404),
        (as_api_key(identity, organization), 403),
    ):
        response = await identity.client.get(
            f"/api/v1/organizations/{organization.id}", headers=headers
        )
        assert response.status_code == status
        contacts = await identity.client.get(
            f"/api/v1/organizations/{organization.id}/contacts", headers=headers
        )
        assert contacts.status_code == status


async def test_anonymous_caller_gets_401(identity):
    organization = await add_organization(identity)
    response = await identity.client.get(f"/api/v1/organizations/{organization.id}")
    assert response.status_code == 401


async def test_contacts_of_the_organization_only_with_responsible_person_marked(identity):
    organization = await add_organization(identity)
    responsible = await add_contact(identity, organization, responsible=True)
    identity.clock.advance(minutes=1)
    colleague = await add_contact(identity, organization, full_name="Сидорова Анна Петровна")
    stranger_org = await add_organization(identity)
    await add_contact(identity, stranger_org)

    response = await identity.client.get(
        f"/api/v1/organizations/{organization.id}/contacts",
        headers=as_user(identity, colleague),
    )

    assert response.status_code == 200
    body = response.json()
    assert [item["id"] for item in body["items"]] == [str(responsible.id), str(colleague.id)]
    assert [item["responsible"] for item in body["items"]] == [True, False]
    assert body["items"][0]["roles"] == ["contact", "responsible"]
    assert body["items"][1]["email"] == colleague.email
    assert body["next_cursor"] is None
    assert "password_hash" not in body["items"][0]


async def test_contacts_are_paginated_with_a_cursor(identity):
    organization = await add_organization(identity)
    contacts = []
    for n in range(5):
        # Two contacts share a creation time: the cursor must still split them correctly.
        if n != 3:
            identity.clock.advance(timedelta(seconds=1))
        contacts.append(await add_contact(identity, organization, responsible=n == 0))
    headers = as_user(identity, contacts[0])

    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        response = await identity.client.get(
            f"/api/v1/organizations/{organization.id}/contacts", params=params, headers=headers
        )
        assert response.status_code == 200, response.text
        page = response.json()
        assert len(page["items"]) <= 2
        seen += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert pages == 3
    assert seen == [str(contact.id) for contact in contacts]


async def test_a_cursor_not_issued_by_the_api_is_422_not_500(identity):
    organization = await add_organization(identity)
    contact = await add_contact(identity, organization)
    for cursor in ("garbage!", "WyJ4IiwieSJd", "WzEsMl0"):  # junk, ["x","y"], [1,2]
        response = await identity.client.get(
            f"/api/v1/organizations/{organization.id}/contacts",
            params={"cursor": cursor},
            headers=as_user(identity, contact),
        )
        assert response.status_code == 422, cursor
        assert response.json()["errors"][0]["field"] == "cursor"


async def test_locked_requisites_cannot_be_edited_directly(identity):
    organization = await add_organization(identity)
    responsible = await add_contact(identity, organization, responsible=True)
    for method in ("PATCH", "PUT"):
        response = await identity.client.request(
            method,
            f"/api/v1/organizations/{organization.id}",
            json={"kpp": "773601002", "full_name": "Другое имя"},
            headers=as_user(identity, responsible),
        )
        assert response.status_code == 405, method
    unchanged = await reload(identity, Organization, organization.id)
    assert unchanged.kpp == "773601001"
    assert unchanged.full_name == organization.full_name
