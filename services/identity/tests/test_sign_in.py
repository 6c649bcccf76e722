"""Sign-in (rule 7), lockout, tokens, recovery (rule 8), /me — through the real database."""

import uuid
from datetime import timedelta

import jwt
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from services.identity.events import CONTRACTS_FOR_UNKNOWN_ORGANIZATIONS
from services.identity.models import ContractLink, RefreshToken, bus
from services.identity.tests.factories import (
    make_organization,
    make_user,
    unique_email,
    unique_phone,
)
from shared.auth import PRINCIPAL_HEADER, Principal
from shared.events.licensing import ContractAttached
from shared.testing.bus import publish
from shared.testing.plugin import eventually

PASSWORD = "Correct-Horse-42"
UNKNOWN_CONTRACTS = CONTRACTS_FOR_UNKNOWN_ORGANIZATIONS._name + "_total"


async def contact(identity, **kwargs):
    async with identity.app.state.sessionmaker() as session, session.begin():
        org = await make_organization(session, identity.clock)
        user = await make_user(session, identity.clock, org, **kwargs)
    return org, user


async def complete_recovery(identity, token: str, organization_id, new_password: str):
    return await identity.client.post(
        "/api/v1/auth/password-recovery/complete",
        json={
            "recovery_token": token,
            "organization_id": str(organization_id),
            "new_password": new_password,
        },
    )


async def login(identity, login_value, password=PASSWORD, **extra):
    return await identity.client.post(
        "/api/v1/auth/login", json={"login": login_value, "password": password, **extra}
    )


def decode(identity, jwks: dict, token: str) -> dict:
    kid = jwt.get_unverified_header(token)["kid"]
    key = next(k for k in jwks["keys"] if k["kid"] == kid)
    return jwt.decode(
        token,
        jwt.PyJWK(key).key,
        algorithms=["RS256"],
        audience="kabinet",
        options={"verify_exp": False, "verify_iat": False},
    )


async def test_login_by_email_gives_tokens_verifiable_with_the_jwks(identity):
    org, user = await contact(identity)
    response = await login(identity, user.email.upper())
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    jwks = (await identity.client.get("/api/v1/auth/jwks.json")).json()
    assert all("d" not in key for key in jwks["keys"])  # only public parts
    claims = decode(identity, jwks, tokens["access_token"])
    assert claims["uid"] == str(user.id) and claims["org"] == str(org.id)
    assert claims["roles"] == ["contact"] and claims["kind"] == "user"
    assert claims["exp"] - claims["iat"] == 900
    async with identity.app.state.sessionmaker() as session:
        stored = await session.scalar(select(RefreshToken).where(RefreshToken.user_id == user.id))
    assert stored is not None and tokens["refresh_token"] not in stored.token_hash


@pytest.mark.parametrize("written", ["+7 (916) {a}-{b}-{c}", "8916{a}{b}{c}"])
async def test_login_by_phone_in_any_usual_notation(identity, written):
    phone = unique_phone()
    _, _user = await contact(identity, phone=phone)
    local = phone[5:]
    typed = written.format(a=local[:3], b=local[3:5], c=local[5:])
    response = await login(identity, typed)
    assert response.status_code == 200, response.text


async def test_unknown_login_and_wrong_password_get_the_same_answer(identity):
    _, user = await contact(identity)
    wrong_password = await login(identity, user.email, "Not-The-Password-1")
    unknown = await login(identity, unique_email("nobody"), "Not-The-Password-1")
    assert wrong_password.status_code == unknown.status_code == 401
    assert wrong_password.json() == unknown.json()


async def test_one_email_in_two_organizations_asks_which(identity):
    email = unique_email("shared")
    org_a, _ = await contact(identity, email=email)
    org_b, user_b = await contact(identity, email=email)
    choose = await login(identity, email)
    assert choose.status_code == 409
    offered = {o["id"]: o for o in choose.json()["organizations"]}
    assert set(offered) == {str(org_a.id), str(org_b.id)}
    assert offered[str(org_b.id)]["customer_number"] == str(org_b.customer_number)
    chosen = await login(identity, email, organization_id=str(org_b.id))
    jwks = (await identity.client.get("/api/v1/auth/jwks.json")).json()
    assert decode(identity, jwks, chosen.json()["access_token"])["uid"] == str(user_b.id)


async def test_five_failures_in_15_minutes_lock_the_login_for_15_minutes(identity):
    _, user = await contact(identity)
    for i in range(5):
        if i:
            identity.clock.advance(minutes=1)
        assert (await login(identity, user.email, "wrong-password")).status_code == 401
    locked = await login(identity, user.email)  # even the right password
    assert locked.status_code == 429
    assert int(locked.headers["Retry-After"]) == 15 * 60 + 1
    identity.clock.advance(minutes=14, seconds=59)
    assert (await login(identity, user.email)).status_code == 429
    identity.clock.advance(seconds=1)
    assert (await login(identity, user.email)).status_code == 200


async def test_failures_spread_over_more_than_15_minutes_do_not_lock(identity):
    _, user = await contact(identity)
    for _ in range(5):
        assert (await login(identity, user.email, "wrong-password")).status_code == 401
        identity.clock.advance(minutes=4)
    assert (await login(identity, user.email)).status_code == 200


async def test_refresh_rotates_and_reuse_revokes_the_family(identity):
    _, user = await contact(identity)
    first = (await login(identity, user.email)).json()
    second = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert second.status_code == 200
    assert second.json()["refresh_token"] != first["refresh_token"]
    replay = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]}
    )
    assert replay.status_code == 401
    # The thief's replay ended the legitimate holder's session too.
    after = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert after.status_code == 401


async def test_logout_ends_the_session_and_expired_refresh_tokens_fail(identity):
    _, user = await contact(identity)
    tokens = (await login(identity, user.email)).json()
    assert (
        await identity.client.post(
            "/api/v1/auth/logout", json={"refresh_token": tokens["refresh_token"]}
        )
    ).status_code == 204
    refused = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refused.status_code == 401
    other = (await login(identity, user.email)).json()
    identity.clock.advance(days=31)
    expired = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": other["refresh_token"]}
    )
    assert expired.status_code == 401


async def test_accountant_signs_in_by_inn_and_a_contract_attached_by_licensing(identity):
    org, _ = await contact(identity)
    await identity.app.state.runtime.consumer.ready.wait()
    number = f"ЛД-{uuid.uuid4().hex[:6]}"
    await publish(
        identity.settings,
        ContractAttached(
            contract_id=uuid.uuid4(),
            number=number,
            contract_date="2026-10-01",
            organization_id=org.id,
            licensee_inn="7707083893",
            licensee_name=org.full_name,
        ),
    )
    body = {"inn": "7707083893", "contract_number": number}

    async def signed_in():
        response = await identity.client.post("/api/v1/auth/accountant", json=body)
        return response if response.status_code == 200 else None

    response = await eventually(signed_in)
    jwks = (await identity.client.get("/api/v1/auth/jwks.json")).json()
    claims = decode(identity, jwks, response.json()["access_token"])
    assert claims["roles"] == ["accountant"] and claims["kind"] == "accountant"
    assert claims["org"] == str(org.id) and claims["uid"] is None
    wrong = await identity.client.post(
        "/api/v1/auth/accountant", json={"inn": "7707083893", "contract_number": "no-such"}
    )
    unknown_inn = await identity.client.post(
        "/api/v1/auth/accountant", json={"inn": "7736207543", "contract_number": number}
    )
    assert wrong.status_code == unknown_inn.status_code == 401
    assert wrong.json() == unknown_inn.json()
    me = await identity.client.get(
        "/api/v1/me",
        headers=identity.as_(
            Principal(kind="accountant", organization_id=org.id, roles=["accountant"])
        ),
    )
    assert me.json()["user"]["roles"] == ["accountant"]
    assert me.json()["organization"]["id"] == str(org.id)


async def test_a_contract_of_an_organization_identity_does_not_know_is_ignored_once(identity):
    """No foreign-key failure retried into the DLQ: the event is handled (recorded in the
    inbox), counted, and licensing's next event still applies."""
    org, _ = await contact(identity)
    await identity.app.state.runtime.consumer.ready.wait()
    before = REGISTRY.get_sample_value(UNKNOWN_CONTRACTS) or 0.0
    stray, known = uuid.uuid4(), uuid.uuid4()
    envelopes = []
    for contract_id, organization_id in ((stray, uuid.uuid4()), (known, org.id)):
        envelope = await publish(
            identity.settings,
            ContractAttached(
                contract_id=contract_id,
                number=f"ЛД-{contract_id.hex[:6]}",
                contract_date="2026-10-01",
                organization_id=organization_id,
                licensee_inn="7707083893",
                licensee_name=org.full_name,
            ),
        )
        envelopes.append(envelope.id)

    async def links() -> set[uuid.UUID] | None:
        async with identity.app.state.sessionmaker() as session:
            found = set(await session.scalars(select(ContractLink.contract_id)))
            handled = await session.scalar(
                select(func.count()).where(bus.inbox.c.event_id.in_(envelopes))
            )
        return found if known in found and handled == 2 else None

    found = await eventually(links)
    assert stray not in found
    assert REGISTRY.get_sample_value(UNKNOWN_CONTRACTS) == before + 1


async def test_password_recovery_answers_alike_and_revokes_every_session(identity):
    email = unique_email("forgetful")
    org, _user = await contact(identity, email=email)
    session_before = (await login(identity, email)).json()
    known = await identity.client.post("/api/v1/auth/password-recovery", json={"email": email})
    stranger = unique_email("stranger")
    unknown = await identity.client.post("/api/v1/auth/password-recovery", json={"email": stranger})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert identity.mail.to(stranger) == []
    # Asking again at once is throttled alike for both.
    again_known = await identity.client.post(
        "/api/v1/auth/password-recovery", json={"email": email}
    )
    again_unknown = await identity.client.post(
        "/api/v1/auth/password-recovery", json={"email": stranger}
    )
    assert again_known.status_code == again_unknown.status_code == 429
    assert "Retry-After" in again_known.headers and "Retry-After" in again_unknown.headers
    code = identity.mail.last_code(email)
    wrong = "000000" if code != "000000" else "111111"
    bad = await identity.client.post(
        "/api/v1/auth/password-recovery/verify", json={"email": email, "code": wrong}
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "code"
    verified = await identity.client.post(
        "/api/v1/auth/password-recovery/verify", json={"email": email, "code": code}
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["organizations"] == [
        {"id": str(org.id), "name": org.short_name, "customer_number": str(org.customer_number)}
    ]
    token = verified.json()["recovery_token"]
    weak = await complete_recovery(identity, token, org.id, "qwerty123")
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    done = await complete_recovery(identity, token, org.id, "N3w-Pass-phrase")
    assert done.status_code == 204
    assert (await login(identity, email)).status_code == 401
    assert (await login(identity, email, "N3w-Pass-phrase")).status_code == 200
    revoked = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": session_before["refresh_token"]}
    )
    assert revoked.status_code == 401
    reused = await complete_recovery(identity, token, org.id, "Other-Pass-99")
    assert reused.status_code == 422


async def test_recovery_code_allows_five_tries_and_expires_after_ten_minutes(identity):
    email = unique_email("tries")
    await contact(identity, email=email)
    await identity.client.post("/api/v1/auth/password-recovery", json={"email": email})
    code = identity.mail.last_code(email)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        await identity.client.post(
            "/api/v1/auth/password-recovery/verify", json={"email": email, "code": wrong}
        )
    spent = await identity.client.post(
        "/api/v1/auth/password-recovery/verify", json={"email": email, "code": code}
    )
    assert spent.status_code == 422
    identity.clock.advance(seconds=61)
    await identity.client.post("/api/v1/auth/password-recovery", json={"email": email})
    fresh = identity.mail.last_code(email)
    identity.clock.advance(minutes=10, seconds=1)
    late = await identity.client.post(
        "/api/v1/auth/password-recovery/verify", json={"email": email, "code": fresh}
    )
    assert late.status_code == 422 and "expired" in late.json()["errors"][0]["message"]


async def test_me_needs_a_genuine_caller_header(identity):
    org, user = await contact(identity)
    assert (await identity.client.get("/api/v1/me")).status_code == 401
    forged = await identity.client.get(
        "/api/v1/me", headers={PRINCIPAL_HEADER: "eyJraW5kIjoidXNlciJ9.AAAA"}
    )
    assert forged.status_code == 401
    principal = Principal(kind="user", user_id=user.id, organization_id=org.id, roles=["contact"])
    me = await identity.client.get("/api/v1/me", headers=identity.as_(principal))
    assert me.status_code == 200
    assert me.json() == {
        "user": {
            "id": str(user.id),
            "full_name": user.full_name,
            "email": user.email,
            "phone": None,
            "roles": ["contact"],
            "membership": "active",
        },
        "api_key": None,
        "organization": {
            "id": str(org.id),
            "name": org.short_name,
            "inn": org.inn,
            "kpp": org.kpp,
            "customer_number": str(org.customer_number),
        },
    }


async def test_changing_the_password_checks_the_old_one_and_ends_sessions(identity):
    org, user = await contact(identity)
    tokens = (await login(identity, user.email)).json()
    headers = identity.as_(
        Principal(kind="user", user_id=user.id, organization_id=org.id, roles=["contact"])
    )
    wrong = await identity.client.post(
        "/api/v1/me/password",
        json={"current_password": "nope", "new_password": "Fresh-Pass-77"},
        headers=headers,
    )
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "current_password"
    common = await identity.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "password123"},
        headers=headers,
    )
    assert common.status_code == 422 and common.json()["errors"][0]["field"] == "new_password"
    ok = await identity.client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "Fresh-Pass-77"},
        headers=headers,
    )
    assert ok.status_code == 204
    assert (await login(identity, user.email, "Fresh-Pass-77")).status_code == 200
    old_session = await identity.client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert old_session.status_code == 401


async def test_rotated_signing_key_stays_published_until_its_tokens_expire(identity):
    from services.identity.auth.tokens import rotate_signing_key

    before = {
        k["kid"] for k in (await identity.client.get("/api/v1/auth/jwks.json")).json()["keys"]
    }
    async with identity.app.state.sessionmaker() as session, session.begin():
        new_kid = await rotate_signing_key(session, identity.clock.now())
    after = {k["kid"] for k in (await identity.client.get("/api/v1/auth/jwks.json")).json()["keys"]}
    assert before < after and new_kid in after
    identity.clock.advance(timedelta(hours=1))
    later = {k["kid"] for k in (await identity.client.get("/api/v1/auth/jwks.json")).json()["keys"]}
    assert later == {new_kid} or (new_kid in later and not (before & later - {new_kid}))


async def test_the_rotation_command_switches_new_tokens_to_a_new_key(identity):
    from services.identity.auth.rotate_key import rotate

    _, user = await contact(identity)
    before = (await login(identity, user.email)).json()["access_token"]
    kid = await rotate(identity.settings, identity.clock)
    after = (await login(identity, user.email)).json()["access_token"]
    assert jwt.get_unverified_header(after)["kid"] == kid
    assert jwt.get_unverified_header(before)["kid"] != kid
    jwks = (await identity.client.get("/api/v1/auth/jwks.json")).json()
    decode(identity, jwks, before)  # the old key still verifies its tokens
    decode(identity, jwks, after)
