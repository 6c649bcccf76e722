"""The steps the cross-service stories share: a company registered and verified through the
gateway, a person signed in, an API key issued, a ticket opened, a password recovery finished."""

import uuid

import httpx
from sqlalchemy import text

from shared.db import create_engine
from shared.testing.plugin import arrived
from tests.conftest import Stack
from tests.requisites import new_organization, phone

PASSWORD = "Romashka-Secret-2026"


def new_contact(login: str = "petrov", full_name: str = "Петров Пётр Петрович") -> dict[str, str]:
    """A person registering: a fresh e-mail (`login-…@example.ru`) and phone, the stories'
    password."""
    return {
        "full_name": full_name,
        "phone": phone(),
        "email": f"{login}-{uuid.uuid4().hex[:8]}@example.ru",
        "password": PASSWORD,
    }


async def register_company(stack: Stack, **organization_changes) -> dict:
    contact = new_contact()
    email = contact["email"]
    organization = new_organization(**organization_changes)
    lookup = await stack.gateway.post(
        "/api/v1/registration/lookup",
        json={"country": "RU", "inn": organization["inn"], "kpp": organization["kpp"]},
    )
    assert lookup.status_code == 200, lookup.text
    assert lookup.json()["status"] == "new"
    started = await stack.gateway.post(
        "/api/v1/registration", json={"organization": organization, "contact": contact}
    )
    assert started.status_code == 201, started.text
    registration = started.json()
    assert registration["status"] == "pending_verification"
    assert sorted(registration["pending"]) == ["email", "phone"]
    completed = await verify_both(stack, registration["registration_id"], contact)
    assert len(completed["customer_number"]) >= 6
    return {**completed, "email": email, "phone": contact["phone"], "inn": organization["inn"]}


async def verify_both(stack: Stack, registration_id: str, contact: dict[str, str]) -> dict:
    path = f"/api/v1/registration/{registration_id}/verify"
    email_code = await arrived(lambda: stack.mail.last_code(contact["email"]))
    by_mail = await stack.gateway.post(path, json={"channel": "email", "code": email_code})
    assert by_mail.status_code == 200, by_mail.text
    assert by_mail.json()["status"] != "completed"
    phone_code = await arrived(lambda: stack.sms.last_code(contact["phone"]))
    by_phone = await stack.gateway.post(path, json={"channel": "phone", "code": phone_code})
    assert by_phone.status_code == 200, by_phone.text
    completed: dict = by_phone.json()
    assert completed["status"] == "completed"
    return completed


async def sign_in(stack: Stack, login: str, password: str = PASSWORD) -> dict[str, str]:
    response = await stack.gateway.post(
        "/api/v1/auth/login", json={"login": login, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def issue_api_key(
    stack: Stack, admin: dict[str, str], organization_id: str, scopes: list[str], name: str = "ERP"
) -> httpx.Response:
    """An admin issues a partner key to the organization; the answer shows the key once."""
    return await stack.gateway.post(
        "/api/v1/api-keys",
        json={"organization_id": organization_id, "name": name, "scopes": scopes},
        headers=admin,
    )


async def complete_recovery(
    stack: Stack, recovery_token: str, organization_id: str, new_password: str
) -> httpx.Response:
    """The last step of a password recovery: the new password for one organization's account."""
    return await stack.gateway.post(
        "/api/v1/auth/password-recovery/complete",
        json={
            "recovery_token": recovery_token,
            "organization_id": organization_id,
            "new_password": new_password,
        },
    )


# A customer's question, as the stories write it: first to the knowledge base, then as a ticket.
QUESTION = {"subject": "Не активируется лицензия", "description": "Пишет: код неверный"}


async def suggest(stack: Stack) -> httpx.Response:
    """The knowledge base's suggestions for the question, while it is being written."""
    return await stack.gateway.post("/api/v1/kb/suggest", json=QUESTION)


async def open_ticket(stack: Stack, headers: dict[str, str], **changes: object) -> httpx.Response:
    """The question opened as a ticket about the furniture product (`changes` add or replace
    fields, a `suggestion_id` for one)."""
    body = {**QUESTION, "product_code": "BAZIS_FURNITURE", "category": "question", **changes}
    return await stack.gateway.post("/api/v1/tickets", json=body, headers=headers)


async def licensing_knows(stack: Stack, email: str) -> bool:
    """Licensing has applied identity's events about the contact (its read model)."""
    engine = create_engine(stack.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            found = await conn.scalar(
                text("SELECT count(*) FROM licensing.users WHERE email = :email"),
                {"email": email.lower()},
            )
    finally:
        await engine.dispose()
    return bool(found)
