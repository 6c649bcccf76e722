"""Lockout per account, whatever the spelling of its login, and atomic under concurrency; a
flood of failures never needs two pooled connections per request."""

import asyncio
import uuid
from collections import Counter

import httpx
import phonenumbers

from services.identity.app import create_app
from services.identity.models import ContractLink
from services.identity.tests.conftest import identity_settings
from services.identity.tests.factories import (
    make_organization,
    make_user,
    unique_email,
    unique_phone,
)
from services.identity.tests.test_registration import contact as registration_contact
from services.identity.tests.test_registration import new_organization
from shared.clock import ManualClock
from shared.testing.plugin import running

PASSWORD = "Correct-Horse-42"
WRONG = "Wrong-Horse-42"
ALLOWED = 5
WRONG_CODE = {"channel": "phone", "code": "000000"}


async def contact(identity, **kwargs):
    async with identity.app.state.sessionmaker() as session, session.begin():
        org = await make_organization(session, identity.clock)
        user = await make_user(session, identity.clock, org, **kwargs)
    return org, user


async def login(client: httpx.AsyncClient, login_value: str, password: str) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"login": login_value, "password": password}
    )


def spellings(e164: str) -> list[str]:
    """Six ways people write one Russian mobile number."""
    national = e164.removeprefix("+7")
    number = phonenumbers.parse(e164)
    return [
        e164,
        "8" + national,
        "7" + national,
        f"8 ({national[:3]}) {national[3:6]}-{national[6:8]}-{national[8:]}",
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        f"8-{national[:3]}-{national[3:6]}-{national[6:8]}-{national[8:]}",
    ]


async def test_twenty_concurrent_wrong_passwords_check_at_most_five(identity):
    _, user = await contact(identity)
    answers = await asyncio.gather(*(login(identity.client, user.email, WRONG) for _ in range(20)))
    statuses = Counter(answer.status_code for answer in answers)
    assert statuses[401] <= ALLOWED
    assert statuses[401] + statuses[429] == 20
    # Locked: even the right password is refused now.
    assert (await login(identity.client, user.email, PASSWORD)).status_code == 429


async def test_every_spelling_of_a_phone_shares_one_count(identity):
    _, user = await contact(identity, phone=unique_phone())
    first, *others, last = spellings(user.phone)
    for spelling in [first, *others][:ALLOWED]:
        assert (await login(identity.client, spelling, WRONG)).status_code == 401, spelling
    assert (await login(identity.client, last, PASSWORD)).status_code == 429


async def test_every_spelling_of_an_email_shares_one_count(identity):
    email = unique_email()
    await contact(identity, email=email)
    for spelling in (email, email.upper(), f"  {email}", email.title(), f"{email} "):
        assert (await login(identity.client, spelling, WRONG)).status_code == 401
    assert (await login(identity.client, email.capitalize(), PASSWORD)).status_code == 429


async def test_a_right_password_does_not_use_up_the_allowance(identity):
    _, user = await contact(identity)
    for _ in range(ALLOWED * 2):
        assert (await login(identity.client, user.email, PASSWORD)).status_code == 200
    for _ in range(ALLOWED - 1):
        assert (await login(identity.client, user.email, WRONG)).status_code == 401
    assert (await login(identity.client, user.email, PASSWORD)).status_code == 200


async def test_accountant_sign_in_is_locked_per_inn_atomically(identity):
    async with identity.app.state.sessionmaker() as session, session.begin():
        org = await make_organization(session, identity.clock)
        session.add(
            ContractLink(
                contract_id=uuid.uuid4(),
                number="Л-2026/7",
                organization_id=org.id,
                licensee_inn=org.inn,
                attached_at=identity.clock.now(),
            )
        )
    spaced = f"{org.inn[:4]} {org.inn[4:]}"

    async def accountant(inn: str, number: str) -> int:
        response = await identity.client.post(
            "/api/v1/auth/accountant", json={"inn": inn, "contract_number": number}
        )
        return response.status_code

    statuses = Counter(await asyncio.gather(*(accountant(org.inn, f"nope-{n}") for n in range(20))))
    assert statuses[401] <= ALLOWED and statuses[401] + statuses[429] == 20
    # Another spelling of the same INN is the same account.
    assert await accountant(spaced, "Л-2026/7") == 429
    assert await accountant(org.inn, "Л-2026/7") == 429


async def test_fifty_concurrent_failures_need_one_connection_each(
    platform_settings, mail_sink, sms_sink
):
    """Two pooled connections in all: a request that held one while asking for another would
    wait for ever (and end as a 5xx) once the flood holds the other."""
    _, port = mail_sink
    settings = identity_settings(
        platform_settings, port, sms_sink.url, db_pool_size=1, run_workers=False
    )
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        async with app.state.sessionmaker() as session, session.begin():
            org = await make_organization(session, clock)
            victim = await make_user(session, clock, org)
            bystander = await make_user(session, clock, org)

        async def others() -> list[int]:
            await asyncio.sleep(0.05)
            jwks = await client.get("/api/v1/auth/jwks.json")
            signed_in = await login(client, bystander.email, PASSWORD)
            return [jwks.status_code, signed_in.status_code]

        meanwhile = asyncio.create_task(others())
        flood = [login(client, victim.email, f"{WRONG}-{n}") for n in range(50)]
        answers = await asyncio.wait_for(asyncio.gather(*flood), 60)
        other = await asyncio.wait_for(meanwhile, 60)
    statuses = Counter(answer.status_code for answer in answers)
    assert set(statuses) <= {401, 429}, statuses
    assert statuses[401] <= ALLOWED
    assert other == [200, 200]


async def test_concurrent_wrong_registration_codes_need_one_connection_each(
    platform_settings, mail_sink, sms_sink
):
    _, port = mail_sink
    settings = identity_settings(
        platform_settings, port, sms_sink.url, db_pool_size=1, run_workers=False
    )
    app = create_app(settings, clock=ManualClock())
    async with running(app) as client:
        started = await client.post(
            "/api/v1/registration",
            json={"organization": new_organization(), "contact": registration_contact()},
        )
        assert started.status_code == 201, started.text
        path = f"/api/v1/registration/{started.json()['registration_id']}/verify"
        answers = await asyncio.wait_for(
            asyncio.gather(
                *(
                    client.post(path, json={"channel": "phone", "code": "000000"})
                    for _ in range(30)
                ),
                client.get("/api/v1/auth/jwks.json"),
            ),
            60,
        )
    *codes, jwks = answers
    assert {answer.status_code for answer in codes} == {422}
    assert jwks.status_code == 200
