"""Rule 7: further staff (agents, admins) are created by an admin; they have no organization."""

import asyncio
import uuid

from sqlalchemy import select

from services.identity.accounts.passwords import verify_password
from services.identity.models import User
from services.identity.tests.organization_factories import (
    add_contact,
    add_organization,
    add_staff,
    as_new_admin,
    as_user,
    staged_events,
)


def staff_body(**overrides):
    return {
        "email": f"agent-{uuid.uuid4().hex[:10]}@vendor.example.com",
        "full_name": "Смирнова Ольга Игоревна",
        "password": "Support-Desk-2026",
        "role": "agent",
        **overrides,
    }


async def create(identity, headers, body):
    return await identity.client.post("/api/v1/staff", json=body, headers=headers)


async def test_admin_creates_an_agent_without_organization(identity):
    body = staff_body(phone="8 916 700-00-01")

    response = await create(identity, await as_new_admin(identity), body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert created["email"] == body["email"] and created["roles"] == ["agent"]
    assert created["phone"] == "+79167000001"
    assert "password" not in created and "password_hash" not in created
    async with identity.app.state.sessionmaker() as session:
        user = await session.get(User, uuid.UUID(created["id"]))
    assert user.organization_id is None
    assert user.password_hash != body["password"]
    assert verify_password(user.password_hash, body["password"])
    [event] = [
        e
        for e in await staged_events(identity, "identity.user.registered")
        if e["data"]["user_id"] == created["id"]
    ]
    assert event["data"]["organization_id"] is None and event["data"]["roles"] == ["agent"]


async def test_admin_creates_another_admin(identity):
    response = await create(identity, await as_new_admin(identity), staff_body(role="admin"))
    assert response.status_code == 201
    assert response.json()["roles"] == ["admin"]


async def test_a_staff_email_already_in_use_is_409_whatever_its_case(identity):
    admin = await as_new_admin(identity)
    body = staff_body()
    assert (await create(identity, admin, body)).status_code == 201

    again = await create(identity, admin, staff_body(email=body["email"].upper()))

    assert again.status_code == 409
    assert again.headers["content-type"] == "application/problem+json"
    async with identity.app.state.sessionmaker() as session:
        same = (await session.scalars(select(User).where(User.email == body["email"]))).all()
    assert len(same) == 1


async def test_a_contacts_email_may_also_be_a_staff_email(identity):
    contact = await add_contact(identity, await add_organization(identity))
    response = await create(identity, await as_new_admin(identity), staff_body(email=contact.email))
    assert response.status_code == 201


async def test_wrong_input_is_422_naming_the_field(identity):
    admin = await as_new_admin(identity)
    for overrides, field in (
        ({"role": "owner"}, "role"),
        ({"role": "contact"}, "role"),
        ({"email": "not-an-email"}, "email"),
        ({"password": "short"}, "password"),
        ({"password": "password123"}, "password"),
        ({"phone": "12"}, "phone"),
        ({"organization_id": str(uuid.uuid4())}, "organization_id"),
    ):
        response = await create(identity, admin, staff_body(**overrides))
        assert response.status_code == 422, overrides
        assert response.json()["errors"][0]["field"] == field, overrides


async def test_only_an_admin_creates_staff(identity):
    organization = await add_organization(identity)
    for headers in (
        as_user(identity, await add_staff(identity, "agent")),
        as_user(identity, await add_contact(identity, organization, responsible=True)),
    ):
        response = await create(identity, headers, staff_body())
        assert response.status_code == 403
    assert (await create(identity, {}, staff_body())).status_code == 401


async def test_two_admins_creating_one_email_at_once_make_one_account(identity):
    body = staff_body()
    first, second = await as_new_admin(identity), await as_new_admin(identity)

    answers = await asyncio.gather(
        create(identity, first, body), create(identity, second, staff_body(email=body["email"]))
    )

    assert sorted(answer.status_code for answer in answers) == [201, 409]
