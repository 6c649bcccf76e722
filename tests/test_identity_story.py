"""A newcomer's walk through the gateway: register a company, sign in, stay inside it."""

import uuid

import pytest

from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.testing.plugin import eventually
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Stack
from tests.requisites import (
    BIK,
    CORRESPONDENT_ACCOUNT,
    new_organization,
    settlement_account,
)
from tests.stories import (
    complete_recovery,
    issue_api_key,
    new_contact,
    open_ticket,
    register_company,
    sign_in,
    verify_both,
)


async def test_the_system_is_ready_and_documents_every_service(stack: Stack):
    ready = await stack.gateway.get("/readyz")
    assert ready.status_code == 200, ready.text
    document = (await stack.gateway.get("/openapi.json")).json()
    assert document["openapi"] == "3.1.0"
    for path in (
        "/api/v1/auth/login",
        "/api/v1/products",
        "/api/v1/calendar/status",
        "/api/v1/keys",
    ):
        assert path in document["paths"], path


async def test_register_sign_in_and_see_only_ones_own_organization(stack: Stack):
    ours = await register_company(stack)
    theirs = await register_company(
        stack, full_name="Общество с ограниченной ответственностью Лютик", short_name="ООО Лютик"
    )
    # The login e-mail goes out after the commit.
    assert await eventually(
        lambda: any(ours["login"] in m.text for m in stack.mail.to(ours["email"]))
    )
    headers = await sign_in(stack, ours["email"])
    me = await stack.gateway.get("/api/v1/me", headers=headers)
    assert me.status_code == 200, me.text
    assert me.json()["organization"]["id"] == ours["organization_id"]
    assert set(me.json()["user"]["roles"]) == {"contact", "responsible"}
    own = await stack.gateway.get(
        f"/api/v1/organizations/{ours['organization_id']}", headers=headers
    )
    assert own.status_code == 200
    for path in ("", "/contacts"):
        other = await stack.gateway.get(
            f"/api/v1/organizations/{theirs['organization_id']}{path}", headers=headers
        )
        assert other.status_code == 404, path

    # A client cannot pose as someone else by sending the services' caller header, even one
    # that identity would believe (sealed with the real secret for this very call): the
    # gateway drops it and speaks for the caller itself.
    def posing_as_theirs() -> dict[str, str]:
        principal = Principal(
            kind="user",
            user_id=uuid.UUID(theirs["user_id"]),
            organization_id=uuid.UUID(theirs["organization_id"]),
            roles=["contact", "responsible"],
        )
        secret = stack.settings.internal_secret
        sealed = sign_principal(
            principal, secret, service="identity", method="GET", path="/api/v1/me"
        )
        return {PRINCIPAL_HEADER: sealed}

    anonymous = await stack.gateway.get("/api/v1/me", headers=posing_as_theirs())
    assert anonymous.status_code == 401, anonymous.text
    signed_in = await stack.gateway.get("/api/v1/me", headers={**headers, **posing_as_theirs()})
    assert signed_in.status_code == 200, signed_in.text
    assert signed_in.json()["organization"]["id"] == ours["organization_id"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"inn": "7707083894"}, "organization.inn"),
        ({"kpp": "77360100"}, "organization.kpp"),
        ({"ogrn": "1027700132196"}, "organization.ogrn"),
        ({"legal_form": "ИП"}, "organization.inn"),
    ],
)
async def test_broken_requisites_are_refused_naming_the_field(stack: Stack, changes, field):
    contact = new_contact("x")
    response = await stack.gateway.post(
        "/api/v1/registration",
        json={"organization": new_organization(**changes), "contact": contact},
    )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in {e["field"] for e in response.json()["errors"]}


async def test_a_wrong_account_control_key_is_refused(stack: Stack):
    bank = {"bik": BIK, "name": "ПАО Сбербанк", "correspondent_account": CORRESPONDENT_ACCOUNT}
    account = settlement_account()
    bank["settlement_account"] = account[:-1] + str((int(account[-1]) + 1) % 10)
    organization = new_organization(bank=bank)
    contact = new_contact("y")
    response = await stack.gateway.post(
        "/api/v1/registration", json={"organization": organization, "contact": contact}
    )
    assert response.status_code == 422
    assert "organization.bank.settlement_account" in {e["field"] for e in response.json()["errors"]}


async def test_recover_a_password_through_the_gateway(stack: Stack):
    ours = await register_company(stack)
    started = await stack.gateway.post(
        "/api/v1/auth/password-recovery", json={"email": ours["email"]}
    )
    assert started.status_code == 202
    # The code is mailed after the answer, so that timing reveals nothing.
    await eventually(lambda: any("восстановлен" in m.text for m in stack.mail.to(ours["email"])))
    verified = await stack.gateway.post(
        "/api/v1/auth/password-recovery/verify",
        json={"email": ours["email"], "code": stack.mail.last_code(ours["email"], "восстановлен")},
    )
    assert verified.status_code == 200, verified.text
    done = await complete_recovery(
        stack, verified.json()["recovery_token"], ours["organization_id"], "Brand-New-Pass-9"
    )
    assert done.status_code == 204, done.text
    await sign_in(stack, ours["email"], "Brand-New-Pass-9")


async def test_a_partner_key_works_until_revoked(stack: Stack):
    partner = await register_company(stack)
    admin = await sign_in(stack, ADMIN_EMAIL, ADMIN_PASSWORD)
    issued = await issue_api_key(stack, admin, partner["organization_id"], ["read"])
    assert issued.status_code == 201, issued.text
    key = issued.json()["key"]
    me = await stack.gateway.get("/api/v1/me", headers={"X-API-Key": key})
    assert me.status_code == 200, me.text
    assert me.json()["api_key"]["prefix"] == issued.json()["prefix"]
    assert me.json()["organization"]["id"] == partner["organization_id"]
    revoked = await stack.gateway.delete(f"/api/v1/api-keys/{issued.json()['id']}", headers=admin)
    assert revoked.status_code == 204

    async def refused() -> bool:
        response = await stack.gateway.get("/api/v1/me", headers={"X-API-Key": key})
        return response.status_code == 401

    assert await eventually(refused, timeout=15, interval=0.5)


async def test_a_contact_joining_a_company_sees_nothing_until_its_responsible_person_approves(
    stack: Stack,
):
    company = await register_company(stack)
    founder = await sign_in(stack, company["email"])
    ticket = await open_ticket(stack, founder)
    assert ticket.status_code == 201, ticket.text

    # Someone who knows the INN and KPP (public registry data) joins the company.
    lookup = await stack.gateway.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": company["inn"], "kpp": "773601001"},
    )
    assert lookup.status_code == 200, lookup.text
    assert company["email"] not in lookup.text
    joiner = new_contact("sidorov", "Сидоров Сидор Сидорович")
    started = await stack.gateway.post(
        "/api/v1/registration",
        json={"organization_id": company["organization_id"], "contact": joiner},
    )
    assert started.status_code == 201, started.text
    joined = await verify_both(stack, started.json()["registration_id"], joiner)
    assert joined["membership"] == "pending"

    # Signed in, it gets no organization scope from any service.
    pending = await sign_in(stack, joiner["email"])
    me = await stack.gateway.get("/api/v1/me", headers=pending)
    assert me.json()["organization"] is None and me.json()["user"]["membership"] == "pending"
    assert (await stack.gateway.get("/api/v1/keys", headers=pending)).status_code == 403
    assert (await stack.gateway.get("/api/v1/tickets", headers=pending)).status_code == 403
    licenses = await stack.gateway.get("/api/v1/licenses", headers=pending)
    assert licenses.status_code == 200 and licenses.json()["items"] == []
    seen = await stack.gateway.get(f"/api/v1/tickets/{ticket.json()['id']}", headers=pending)
    assert seen.status_code in (403, 404)
    for path in ("", "/contacts"):
        organization = await stack.gateway.get(
            f"/api/v1/organizations/{company['organization_id']}{path}", headers=pending
        )
        assert organization.status_code == 404, path

    # The responsible person approves with the link from its e-mail, without signing in.
    def link() -> str | None:
        for mail in stack.mail.to(company["email"]):
            if "token=" in mail.text:
                return mail.text.split("token=", 1)[1].split()[0]
        return None

    token = await eventually(link)
    approved = await stack.gateway.post(
        "/api/v1/registration/memberships/approve", json={"token": token}
    )
    assert approved.status_code == 200, approved.text
    again = await stack.gateway.post(
        "/api/v1/registration/memberships/approve", json={"token": token}
    )
    assert again.status_code == 404

    member = await sign_in(stack, joiner["email"])
    me = await stack.gateway.get("/api/v1/me", headers=member)
    assert me.json()["organization"]["id"] == company["organization_id"]
    tickets = await stack.gateway.get("/api/v1/tickets", headers=member)
    assert tickets.status_code == 200, tickets.text
    assert ticket.json()["id"] in tickets.text
    assert (await stack.gateway.get("/api/v1/keys", headers=member)).status_code == 200
