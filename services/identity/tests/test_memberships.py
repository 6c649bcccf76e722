"""Rule 3: knowing an INN and KPP does not open a company's account. A contact who joins an
existing organization sees nothing of it until its responsible person (by the e-mailed link or
the API) or an admin approves; declined, it keeps no access; the lookup never shows contacts."""

import asyncio
import re
import uuid
from datetime import timedelta
from typing import Any

import jwt

from services.identity.models import MembershipRequest, Organization, User
from services.identity.tests.organization_factories import add_contact, add_organization, as_user
from services.identity.tests.test_registration import (
    PASSWORD,
    contact,
    fetch,
    new_organization,
    register,
    staged_events,
)
from shared.auth import Principal

LINK = re.compile(r"token=(\S+)")


async def organization_with_joiner(identity) -> dict[str, Any]:
    """A registered organization (its responsible person) and a contact who joined it."""
    founded, responsible = await register(identity, new_organization())
    joined, joiner = await register(identity, organization_id=founded["organization_id"])
    return {
        "organization_id": founded["organization_id"],
        "responsible": {**responsible, "user_id": founded["user_id"]},
        "joiner": {**joiner, "user_id": joined["user_id"]},
        "joined": joined,
    }


def link_token(identity, responsible_email: str) -> str:
    [mail] = [m for m in identity.mail.to(responsible_email) if "token=" in m.text]
    found = LINK.search(mail.text)
    assert found is not None
    return found.group(1)


async def signed_in(identity, email: str, organization_id: str | None = None) -> dict[str, str]:
    """The headers the gateway would send after this person signed in: its principal is made
    from the access token's claims, exactly as the gateway does."""
    body: dict[str, Any] = {"login": email, "password": PASSWORD}
    if organization_id is not None:
        body["organization_id"] = organization_id
    answer = await identity.client.post("/api/v1/auth/login", json=body)
    assert answer.status_code == 200, answer.text
    return headers_of(identity, answer.json()["access_token"])


def headers_of(identity, access_token: str) -> dict[str, str]:
    claims = jwt.decode(access_token, options={"verify_signature": False})
    return identity.as_(
        Principal(
            kind=claims["kind"],
            user_id=claims["uid"],
            organization_id=claims.get("org"),
            roles=claims["roles"],
        )
    )


async def sees_nothing(identity, headers: dict[str, str], organization_id: str) -> None:
    me = await identity.client.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["organization"] is None
    for path in (
        f"/api/v1/organizations/{organization_id}",
        f"/api/v1/organizations/{organization_id}/contacts",
        f"/api/v1/organizations/{organization_id}/memberships",
    ):
        assert (await identity.client.get(path, headers=headers)).status_code == 404, path
    requests = await identity.client.get("/api/v1/change-requests", headers=headers)
    assert requests.status_code in (403, 404)


async def sees_its_organization(identity, headers: dict[str, str], organization_id: str) -> None:
    me = await identity.client.get("/api/v1/me", headers=headers)
    assert me.json()["organization"]["id"] == organization_id
    assert me.json()["user"]["membership"] == "active"
    organization = await identity.client.get(
        f"/api/v1/organizations/{organization_id}", headers=headers
    )
    assert organization.status_code == 200


async def membership(identity, user_id: str) -> str:
    [user] = await fetch(identity, User, User.id == uuid.UUID(user_id))
    return user.membership


async def test_a_joiner_sees_nothing_of_the_organization_until_approved(identity):
    story = await organization_with_joiner(identity)
    org_id, joiner = story["organization_id"], story["joiner"]
    assert story["joined"]["membership"] == "pending"
    headers = await signed_in(identity, joiner["email"])
    # Its session carries no organization: no service can scope anything to it.
    access = (
        await identity.client.post(
            "/api/v1/auth/login", json={"login": joiner["email"], "password": PASSWORD}
        )
    ).json()["access_token"]
    assert jwt.decode(access, options={"verify_signature": False})["org"] is None
    await sees_nothing(identity, headers, org_id)
    me = (await identity.client.get("/api/v1/me", headers=headers)).json()
    assert me["user"]["membership"] == "pending"
    # Not listed among the contacts, not announced to the other services.
    responsible = await signed_in(identity, story["responsible"]["email"])
    contacts = await identity.client.get(
        f"/api/v1/organizations/{org_id}/contacts", headers=responsible
    )
    assert joiner["email"] not in contacts.text
    assert (
        await staged_events(identity, "identity.user.registered", user_id=joiner["user_id"]) == []
    )
    # The joiner was told its access waits; the responsible person was asked.
    [login_mail] = [m for m in identity.mail.to(joiner["email"]) if "Регистрация" in m.subject]
    assert "ответственное лицо" in login_mail.text
    assert "номер клиента" not in login_mail.text
    assert link_token(identity, story["responsible"]["email"])


async def test_the_responsible_person_approves_by_the_e_mailed_link_once(identity):
    story = await organization_with_joiner(identity)
    org_id, joiner = story["organization_id"], story["joiner"]
    token = link_token(identity, story["responsible"]["email"])
    # A session from before the approval refreshes into one that sees the organization.
    before = (
        await identity.client.post(
            "/api/v1/auth/login", json={"login": joiner["email"], "password": PASSWORD}
        )
    ).json()

    # The page the link opens shows who asks, without deciding.
    for _ in range(2):
        shown = await identity.client.post(
            "/api/v1/registration/memberships/preview", json={"token": token}
        )
        assert shown.status_code == 200, shown.text
        assert (shown.json()["email"], shown.json()["status"]) == (joiner["email"], "pending")
    approved = await identity.client.post(
        "/api/v1/registration/memberships/approve", json={"token": token}
    )
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "active"
    assert approved.json()["decided_via"] == "link"
    again = await identity.client.post(
        "/api/v1/registration/memberships/approve", json={"token": token}
    )
    assert again.status_code == 404
    for word in ("preview", "decline"):
        spent = await identity.client.post(
            f"/api/v1/registration/memberships/{word}", json={"token": token}
        )
        assert spent.status_code == 404, word
    declined_after = await identity.client.post(
        "/api/v1/registration/memberships/decline", json={"token": token}
    )
    assert declined_after.status_code == 404
    assert await membership(identity, joiner["user_id"]) == "active"

    await sees_its_organization(identity, await signed_in(identity, joiner["email"]), org_id)
    refreshed = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": before["refresh_token"]}
    )
    assert refreshed.status_code == 200
    claims = jwt.decode(refreshed.json()["access_token"], options={"verify_signature": False})
    assert claims["org"] == org_id
    [event] = await staged_events(identity, "identity.user.registered", user_id=joiner["user_id"])
    assert event["organization_id"] == org_id
    assert any("подтвердили" in m.text for m in identity.mail.to(joiner["email"]))


async def test_an_expired_or_forged_link_decides_nothing(identity):
    story = await organization_with_joiner(identity)
    token = link_token(identity, story["responsible"]["email"])
    for forged in (token[:-2] + "xx", "x", uuid.uuid4().hex):
        answer = await identity.client.post(
            "/api/v1/registration/memberships/approve", json={"token": forged}
        )
        assert answer.status_code == 404, forged
        assert answer.headers["content-type"] == "application/problem+json"
    identity.clock.advance(timedelta(hours=identity.settings.membership_link_ttl_hours, seconds=1))
    expired = await identity.client.post(
        "/api/v1/registration/memberships/approve", json={"token": token}
    )
    assert expired.status_code == 404
    assert await membership(identity, story["joiner"]["user_id"]) == "pending"
    # Only its hash is kept.
    [request] = await fetch(
        identity,
        MembershipRequest,
        MembershipRequest.user_id == uuid.UUID(story["joiner"]["user_id"]),
    )
    assert request.link_hash is not None and token not in request.link_hash


async def test_the_responsible_person_lists_and_approves_through_the_api(identity):
    story = await organization_with_joiner(identity)
    org_id, joiner = story["organization_id"], story["joiner"]
    responsible = await signed_in(identity, story["responsible"]["email"])
    listed = await identity.client.get(
        f"/api/v1/organizations/{org_id}/memberships",
        params={"status": "pending"},
        headers=responsible,
    )
    assert listed.status_code == 200, listed.text
    [item] = listed.json()["items"]
    assert item["user_id"] == joiner["user_id"] and item["email"] == joiner["email"]
    path = f"/api/v1/organizations/{org_id}/memberships/{joiner['user_id']}"
    approved = await identity.client.post(f"{path}/approve", headers=responsible)
    assert approved.status_code == 200, approved.text
    assert approved.json()["decided_via"] == "responsible"
    assert approved.json()["decided_by"] == story["responsible"]["user_id"]
    assert (await identity.client.post(f"{path}/decline", headers=responsible)).status_code == 409
    # The link is spent by any decision.
    token = link_token(identity, story["responsible"]["email"])
    assert (
        await identity.client.post(
            "/api/v1/registration/memberships/approve", json={"token": token}
        )
    ).status_code == 404
    await sees_its_organization(identity, await signed_in(identity, joiner["email"]), org_id)


async def test_an_admin_approves_or_declines_any_organization(identity):
    first = await organization_with_joiner(identity)
    second = await organization_with_joiner(identity)
    admin = identity.as_admin()
    for story, decision, expected in (
        (first, "approve", "active"),
        (second, "decline", "declined"),
    ):
        path = (
            f"/api/v1/organizations/{story['organization_id']}/memberships/"
            f"{story['joiner']['user_id']}/{decision}"
        )
        answer = await identity.client.post(path, headers=admin)
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == expected and answer.json()["decided_via"] == "admin"
    listed = await identity.client.get(
        f"/api/v1/organizations/{first['organization_id']}/memberships", headers=admin
    )
    assert [i["status"] for i in listed.json()["items"]] == ["active"]


async def test_admins_see_every_organizations_pending_memberships(identity):
    stories = [await organization_with_joiner(identity) for _ in range(2)]
    queue = await identity.client.get(
        "/api/v1/organizations/memberships",
        params={"status": "pending", "limit": 200},
        headers=identity.as_admin(),
    )
    assert queue.status_code == 200, queue.text
    waiting = {(i["organization_id"], i["user_id"]) for i in queue.json()["items"]}
    for story in stories:
        assert (story["organization_id"], story["joiner"]["user_id"]) in waiting
    assert all(i["status"] == "pending" for i in queue.json()["items"])
    responsible = await signed_in(identity, stories[0]["responsible"]["email"])
    refused = await identity.client.get("/api/v1/organizations/memberships", headers=responsible)
    assert refused.status_code == 403


async def test_a_declined_contact_keeps_no_access(identity):
    story = await organization_with_joiner(identity)
    org_id, joiner = story["organization_id"], story["joiner"]
    responsible = await signed_in(identity, story["responsible"]["email"])
    declined = await identity.client.post(
        f"/api/v1/organizations/{org_id}/memberships/{joiner['user_id']}/decline",
        headers=responsible,
    )
    assert declined.status_code == 200, declined.text
    headers = await signed_in(identity, joiner["email"])
    await sees_nothing(identity, headers, org_id)
    assert (await identity.client.get("/api/v1/me", headers=headers)).json()["user"][
        "membership"
    ] == "declined"
    assert (
        await staged_events(identity, "identity.user.registered", user_id=joiner["user_id"]) == []
    )
    assert any("отклонили" in m.text for m in identity.mail.to(joiner["email"]))


async def test_only_the_organizations_responsible_person_or_an_admin_decides(identity):
    story = await organization_with_joiner(identity)
    org_id, joiner = story["organization_id"], story["joiner"]
    path = f"/api/v1/organizations/{org_id}/memberships/{joiner['user_id']}/approve"
    other = await organization_with_joiner(identity)
    other_responsible = await signed_in(identity, other["responsible"]["email"])
    # Another organization's responsible person: the organization does not exist for it.
    assert (await identity.client.post(path, headers=other_responsible)).status_code == 404
    listing = f"/api/v1/organizations/{org_id}/memberships"
    assert (await identity.client.get(listing, headers=other_responsible)).status_code == 404
    # The joiner itself, and an ordinary contact of the organization.
    pending = await signed_in(identity, joiner["email"])
    assert (await identity.client.post(path, headers=pending)).status_code == 404
    [organization] = await fetch(identity, Organization, Organization.id == uuid.UUID(org_id))
    ordinary = await add_contact(identity, organization)
    assert (
        await identity.client.post(path, headers=as_user(identity, ordinary))
    ).status_code == 403
    # A stranger organization's contact, an accountant, an API key, an agent.
    stranger = await add_contact(identity, await add_organization(identity))
    assert (
        await identity.client.post(path, headers=as_user(identity, stranger))
    ).status_code == 404
    accountant = identity.as_(
        Principal(kind="accountant", organization_id=organization.id, roles=["accountant"])
    )
    assert (await identity.client.post(path, headers=accountant)).status_code == 404
    agent = identity.as_(Principal(kind="user", user_id=uuid.uuid4(), roles=["agent"]))
    assert (await identity.client.post(path, headers=agent)).status_code == 403
    assert (await identity.client.post(path)).status_code == 401
    assert await membership(identity, joiner["user_id"]) == "pending"


async def test_the_lookup_never_shows_contacts(identity):
    organization = new_organization()
    founded, responsible = await register(identity, organization)
    await register(identity, organization_id=founded["organization_id"], contact=contact())
    looked_up = await identity.client.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": organization["inn"], "kpp": organization["kpp"]},
    )
    assert looked_up.status_code == 200
    [listed] = looked_up.json()["organizations"]
    assert set(listed) == {"id", "name", "kpp", "subdivision", "customer_number"}
    for secret in (responsible["email"], responsible["phone"], responsible["full_name"]):
        assert secret not in looked_up.text


async def test_two_deciders_at_once_get_one_decision(identity):
    story = await organization_with_joiner(identity)
    path = (
        f"/api/v1/organizations/{story['organization_id']}/memberships/{story['joiner']['user_id']}"
    )
    responsible = await signed_in(identity, story["responsible"]["email"])
    answers = await asyncio.gather(
        identity.client.post(f"{path}/approve", headers=responsible),
        identity.client.post(f"{path}/decline", headers=identity.as_admin()),
    )
    assert sorted(a.status_code for a in answers) == [200, 409]
    [decided] = [a.json() for a in answers if a.status_code == 200]
    assert await membership(identity, story["joiner"]["user_id"]) == decided["status"]
