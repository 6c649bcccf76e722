"""Authentication at the edge, against the real identity service: bearer tokens verified with
identity's JWKS, API keys checked with identity, the signed principal the services receive,
and the accountant's reach."""

import base64
import functools
import hashlib
import hmac
import json
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from gateway.config import GatewaySettings
from gateway.tests.conftest import Doubles
from gateway.tests.doubles import ServiceDouble
from gateway.tests.identity import (
    JWKS_PATH,
    PASSWORD,
    VERIFY_PATH,
    RunningIdentity,
    admin_token,
    bearer,
    issue_key,
    sign_in,
)
from services.identity.auth.tokens import rotate_signing_key
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal, verify_principal
from shared.clock import SystemClock
from shared.testing.plugin import eventually
from shared.testing.servers import free_port

PROBLEM = "application/problem+json"
DEFAULTS = GatewaySettings.model_fields
JWKS_REFETCH_SECONDS = DEFAULTS["gateway_jwks_refetch_seconds"].default
LEEWAY_SECONDS = DEFAULTS["gateway_jwt_leeway_seconds"].default


def received_principal(double: ServiceDouble, identity: RunningIdentity) -> Principal:
    """The caller the last request that reached `double` was vouched for as."""
    received = double.received[-1]
    values = received.header_values(PRINCIPAL_HEADER.lower())
    assert len(values) == 1, values
    # Sealed for this service, method and path, or verify_principal refuses it.
    return verify_principal(
        values[0],
        identity.settings.internal_secret,
        service=double.name,
        method=received.method,
        path=unquote(received.raw_path),
    )


def assert_refused(response: httpx.Response, status: int) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == status


def claims_of(token: str) -> dict[str, Any]:
    claims: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return claims


@functools.cache
def foreign_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def foreign_token(claims: dict[str, Any], kid: str) -> str:
    """A well-formed token signed by a key identity never made."""
    return jwt.encode(claims, foreign_key(), algorithm="RS256", headers={"kid": kid})


# -- bearer tokens -----------------------------------------------------------------------


async def test_signed_in_admin_reaches_a_service_as_itself(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
        me = await gateway.get("/api/v1/me", headers=bearer(token))
        ticket = await gateway.get("/api/v1/tickets", headers=bearer(token))
    # identity itself accepted the gateway's word on who calls.
    assert me.status_code == 200, me.text
    assert me.json()["user"]["email"] == identity_service.settings.admin_email
    assert ticket.status_code == 200, ticket.text
    principal = received_principal(doubles["helpdesk"], identity_service)
    assert principal.kind == "user"
    assert str(principal.user_id) == me.json()["user"]["id"]
    assert principal.roles == ["admin"] and principal.organization_id is None
    # The credential itself stays at the edge.
    assert doubles["helpdesk"].received[-1].header("authorization") is None


async def test_contact_token_carries_its_user_and_organization(
    start_edge, doubles, identity_service
):
    contact = await identity_service.contact()
    async with start_edge() as gateway:
        tokens = await sign_in(gateway, contact.email, PASSWORD)
        response = await gateway.get("/api/v1/licenses", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
    principal = received_principal(doubles["licensing"], identity_service)
    assert (principal.kind, principal.user_id) == ("user", contact.id)
    assert principal.organization_id == contact.organization_id
    assert principal.roles == ["contact"]


async def test_principal_sent_by_a_client_is_stripped_and_replaced(
    start_edge, doubles, identity_service
):
    # Signed with the real internal secret: still not believed when it comes from outside.
    forged = sign_principal(
        Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"]),
        identity_service.settings.internal_secret,
        service="helpdesk",
        method="GET",
        path="/api/v1/tickets",
    )
    contact = await identity_service.contact()
    async with start_edge() as gateway:
        anonymous = await gateway.get(
            "/api/v1/tickets", headers={PRINCIPAL_HEADER: forged, "x-kabinet-principal": forged}
        )
        tokens = await sign_in(gateway, contact.email, PASSWORD)
        signed_in = await gateway.get(
            "/api/v1/tickets",
            headers={**bearer(tokens["access_token"]), "X-KABINET-PRINCIPAL": forged},
        )
    assert anonymous.status_code == signed_in.status_code == 200
    first, second = doubles["helpdesk"].received
    assert first.header_values("x-kabinet-principal") == []
    principal = received_principal(doubles["helpdesk"], identity_service)
    assert second.header_values("x-kabinet-principal") != [forged]
    assert principal.user_id == contact.id and principal.roles == ["contact"]


async def test_tampered_token_is_refused_and_not_forwarded(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
        contact = await identity_service.contact()
        contact_token = (await sign_in(gateway, contact.email, PASSWORD))["access_token"]
        header, payload, signature = contact_token.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        claims["roles"] = ["admin"]
        raised = _b64(json.dumps(claims).encode())
        answers = [
            await gateway.get("/api/v1/tickets", headers=bearer(f"{header}.{raised}.{signature}")),
            await gateway.get("/api/v1/tickets", headers=bearer(token[:-4] + "AAAA")),
            await gateway.get("/api/v1/tickets", headers=bearer("not-a-jwt")),
            await gateway.get("/api/v1/tickets", headers={"Authorization": "Bearer"}),
            await gateway.get("/api/v1/tickets", headers={"Authorization": f"Basic {token}"}),
        ]
        intact = await gateway.get("/api/v1/tickets", headers=bearer(token))
    for response in answers:
        assert_refused(response, 401)
    assert intact.status_code == 200
    assert len(doubles["helpdesk"].received) == 1


async def test_expired_token_is_refused(start_edge, doubles, identity_service):
    clock = identity_service.clock
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
        expires = claims_of(token)["exp"]
        clock.set(datetime.fromtimestamp(expires + LEEWAY_SECONDS - 1, UTC))
        still_valid = await gateway.get("/api/v1/tickets", headers=bearer(token))
        clock.advance(seconds=1)
        expired = await gateway.get("/api/v1/tickets", headers=bearer(token))
    assert still_valid.status_code == 200
    assert_refused(expired, 401)
    assert len(doubles["helpdesk"].received) == 1


async def test_token_of_another_issuer_is_refused(start_edge, doubles, identity_service):
    async with start_edge(jwt_issuer="someone-else") as gateway:
        token = await admin_token(gateway, identity_service)
        assert_refused(await gateway.get("/api/v1/tickets", headers=bearer(token)), 401)
    assert doubles["helpdesk"].received == []


def _baseline_claims(identity: RunningIdentity) -> dict[str, Any]:
    now = int(identity.clock.now().timestamp())
    return {
        "iss": identity.settings.jwt_issuer,
        "aud": "kabinet",
        "sub": str(uuid.uuid4()),
        "kind": "user",
        "uid": str(uuid.uuid4()),
        "org": None,
        "roles": ["contact"],
        "iat": now,
        "exp": now + 600,
    }


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({}, 200),  # the baseline: identity's own key and claims are accepted
        ({"aud": "another-audience"}, 401),
        ({"iss": "another-issuer"}, 401),
        ({"exp": None}, 401),
        ({"sub": None}, 401),
        ({"kind": "api_key"}, 401),  # only identity's API-key check makes a partner
        ({"kind": "admin"}, 401),
        ({"uid": "not-a-uuid"}, 401),
    ],
)
async def test_claims_are_checked_even_under_identitys_signature(
    start_edge, doubles, identity_service, change, status
):
    claims = _baseline_claims(identity_service)
    claims.update(change)
    claims = {name: value for name, value in claims.items() if value is not None or name == "org"}
    token = await identity_service.sign_with_active_key(claims)
    async with start_edge() as gateway:
        response = await gateway.get("/api/v1/tickets", headers=bearer(token))
    assert response.status_code == status, response.text
    assert len(doubles["helpdesk"].received) == (1 if status == 200 else 0)


async def test_token_signed_by_a_key_identity_never_published_is_refused(
    start_edge, doubles, identity_service
):
    claims = _baseline_claims(identity_service)
    async with start_edge() as gateway:
        real = await admin_token(gateway, identity_service)
        published_kid = jwt.get_unverified_header(real)["kid"]
        answers = [
            await gateway.get(
                "/api/v1/tickets", headers=bearer(foreign_token(claims, published_kid))
            ),
            await gateway.get(
                "/api/v1/tickets", headers=bearer(foreign_token(claims, uuid.uuid4().hex))
            ),
        ]
    for response in answers:
        assert_refused(response, 401)
    assert doubles["helpdesk"].received == []


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


async def test_hmac_token_keyed_with_the_public_key_is_refused(
    start_edge, doubles, identity_service
):
    # The classic algorithm confusion: HS256 "signed" with the published RSA key as secret.
    async with start_edge() as gateway:
        real = await admin_token(gateway, identity_service)
        jwks = (await gateway.get(JWKS_PATH)).json()
    kid = jwt.get_unverified_header(real)["kid"]
    [published] = [key for key in jwks["keys"] if key["kid"] == kid]
    public_pem = jwt.PyJWK(published).key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": kid}).encode())
    payload = _b64(json.dumps(_baseline_claims(identity_service)).encode())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    async with start_edge() as gateway:
        response = await gateway.get(
            "/api/v1/tickets", headers=bearer(f"{header}.{payload}.{_b64(mac)}")
        )
    assert_refused(response, 401)
    assert doubles["helpdesk"].received == []


async def test_jwks_is_fetched_again_after_a_key_rotation(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        before = await admin_token(gateway, identity_service)
        assert (await gateway.get("/api/v1/tickets", headers=bearer(before))).status_code == 200
        fetched = identity_service.hits[JWKS_PATH]
        async with identity_service.sessionmaker() as session, session.begin():
            new_kid = await rotate_signing_key(session, identity_service.clock.now())
        identity_service.clock.advance(seconds=JWKS_REFETCH_SECONDS)
        after = await admin_token(gateway, identity_service)
        assert jwt.get_unverified_header(after)["kid"] == new_kid
        with_new_key = await gateway.get("/api/v1/tickets", headers=bearer(after))
        with_old_key = await gateway.get("/api/v1/tickets", headers=bearer(before))
    assert with_new_key.status_code == 200, with_new_key.text
    assert identity_service.hits[JWKS_PATH] == fetched + 1
    # The retired key is still published while its tokens live, and still cached.
    assert with_old_key.status_code == 200


async def test_unknown_kids_cannot_make_the_gateway_hammer_identity(
    start_edge, doubles, identity_service
):
    claims = _baseline_claims(identity_service)
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
        assert (await gateway.get("/api/v1/tickets", headers=bearer(token))).status_code == 200
        fetched = identity_service.hits[JWKS_PATH]

        async def garbage_burst() -> None:
            for _ in range(15):
                garbage = bearer(foreign_token(claims, uuid.uuid4().hex))
                assert_refused(await gateway.get("/api/v1/tickets", headers=garbage), 401)

        await garbage_burst()
        assert identity_service.hits[JWKS_PATH] == fetched
        identity_service.clock.advance(seconds=JWKS_REFETCH_SECONDS)
        await garbage_burst()
        assert identity_service.hits[JWKS_PATH] == fetched + 1


async def test_identity_unreachable_is_a_503_not_a_401(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
    down = f"http://127.0.0.1:{free_port()}"
    async with start_edge(identity_url=down) as gateway:
        with_token = await gateway.get("/api/v1/tickets", headers=bearer(token))
        with_key = await gateway.get("/api/v1/tickets", headers={"X-API-Key": "kab_x_y"})
        anonymous = await gateway.get("/api/v1/tickets")
    assert_refused(with_token, 503)
    assert_refused(with_key, 503)
    assert anonymous.status_code == 200
    [received] = doubles["helpdesk"].received
    assert received.header_values("x-kabinet-principal") == []


async def test_both_credentials_at_once_are_refused(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        token = await admin_token(gateway, identity_service)
        response = await gateway.get(
            "/api/v1/tickets", headers={**bearer(token), "X-API-Key": "kab_abc"}
        )
    assert_refused(response, 401)
    assert doubles["helpdesk"].received == []


# -- API keys ----------------------------------------------------------------------------


async def test_api_key_reaches_a_service_as_its_partner(start_edge, doubles, identity_service):
    async with start_edge() as gateway:
        issued = await issue_key(gateway, identity_service, ["read", "licenses:write"])
        key = {"X-API-Key": issued["key"]}
        response = await gateway.post("/api/v1/licenses/5/renew", headers=key)
        me = await gateway.get("/api/v1/me", headers=key)
    assert response.status_code == 200
    principal = received_principal(doubles["licensing"], identity_service)
    assert principal.kind == "api_key"
    assert str(principal.api_key_id) == issued["id"]
    assert str(principal.organization_id) == issued["organization_id"]
    assert sorted(principal.scopes) == ["licenses:write", "read"]
    assert principal.roles == ["partner"] and principal.user_id is None
    assert doubles["licensing"].received[-1].header("x-api-key") is None
    # identity, asked through the gateway, describes the key.
    assert me.status_code == 200, me.text
    assert me.json()["api_key"]["id"] == issued["id"]


async def test_api_key_verdicts_are_reused_within_their_lifetime(
    start_edge, doubles, identity_service
):
    async with start_edge() as gateway:
        issued = await issue_key(gateway, identity_service, ["read"])
        asked = identity_service.hits[VERIFY_PATH]
        unknown = "kab_zzzzzzzz_" + "x" * 43
        answers = [
            await gateway.get("/api/v1/licenses", headers={"X-API-Key": issued["key"]})
            for _ in range(3)
        ]
        refusals = [
            await gateway.get("/api/v1/licenses", headers={"X-API-Key": unknown}) for _ in range(3)
        ]
    assert [response.status_code for response in answers] == [200, 200, 200]
    for response in refusals:
        assert_refused(response, 401)
    # One question per key: the valid and the unknown verdict were both cached.
    assert identity_service.hits[VERIFY_PATH] == asked + 2
    assert len(doubles["licensing"].received) == 3


async def test_revoked_key_stops_working_when_its_cached_verdict_expires(
    start_edge, doubles, identity_service
):
    async with start_edge(gateway_api_key_cache_seconds=5) as gateway:
        issued = await issue_key(gateway, identity_service, ["read"])
        key = {"X-API-Key": issued["key"]}
        assert (await gateway.get("/api/v1/licenses", headers=key)).status_code == 200
        revoked = await gateway.delete(
            f"/api/v1/api-keys/{issued['id']}", headers=bearer(issued["admin_token"])
        )
        assert revoked.status_code == 204, revoked.text
        identity_service.clock.advance(seconds=4)
        within_lifetime = await gateway.get("/api/v1/licenses", headers=key)
        identity_service.clock.advance(seconds=1)
        after_lifetime = await gateway.get("/api/v1/licenses", headers=key)
    assert within_lifetime.status_code == 200
    assert_refused(after_lifetime, 401)
    assert len(doubles["licensing"].received) == 2


async def test_revoked_key_is_refused_within_seconds_of_real_time(
    start_edge, doubles, identity_service
):
    ttl = 0.5
    # The admin's token lives on identity's (manual) clock, so it goes through its own gateway.
    async with (
        start_edge() as admin_gateway,
        start_edge(clock=SystemClock(), gateway_api_key_cache_seconds=ttl) as gateway,
    ):
        issued = await issue_key(admin_gateway, identity_service, ["read"])
        key = {"X-API-Key": issued["key"]}
        assert (await gateway.get("/api/v1/licenses", headers=key)).status_code == 200
        revoked = await admin_gateway.delete(
            f"/api/v1/api-keys/{issued['id']}", headers=bearer(issued["admin_token"])
        )
        assert revoked.status_code == 204

        async def refused() -> bool:
            response = await gateway.get("/api/v1/licenses", headers=key)
            return response.status_code == 401

        await eventually(refused, timeout=ttl + 3)


# -- the accountant's reach ----------------------------------------------------------------


ACCOUNTANT_FORWARDED = [
    ("GET", "/api/v1/reconciliation?from=2026-01-01&to=2026-10-31", "licensing"),
    ("GET", "/api/v1/acts", "licensing"),
    ("GET", "/api/v1/contracts", "licensing"),
    ("GET", "/api/v1/contracts/5", "licensing"),
    ("GET", "/api/v1/invoices", "licensing"),
    ("GET", "/api/v1/documents/5", "licensing"),
]
ACCOUNTANT_REFUSED = [
    ("GET", "/api/v1/licenses"),
    ("POST", "/api/v1/contracts"),
    ("POST", "/api/v1/invoices/5/payments"),
    ("DELETE", "/api/v1/documents/5"),
    ("GET", "/api/v1/support-certificates"),
    ("GET", "/api/v1/tickets"),
    ("GET", "/api/v1/keys"),
    ("GET", "/api/v1/organizations/5"),
    ("POST", "/api/v1/me/password"),
    ("GET", "/api/v1/acts/../licenses"),
    ("GET", "/api/v1/actsheet"),
]


async def test_accountant_session_reaches_only_statements_and_documents(
    start_edge, doubles: Doubles, identity_service
):
    organization = await identity_service.organization()
    number = f"ЛД-{uuid.uuid4().hex[:6]}"
    await identity_service.link_contract(organization, number)
    async with start_edge() as gateway:
        signed_in = await gateway.post(
            "/api/v1/auth/accountant", json={"inn": organization.inn, "contract_number": number}
        )
        assert signed_in.status_code == 200, signed_in.text
        tokens = signed_in.json()
        session = bearer(tokens["access_token"])
        me = await gateway.get("/api/v1/me", headers=session)
        forwarded = [
            await gateway.request(method, path, headers=session)
            for method, path, _ in ACCOUNTANT_FORWARDED
        ]
        refused = [
            await gateway.request(
                method, "/api/v1/acts", headers=session, extensions={"target": path.encode()}
            )
            for method, path in ACCOUNTANT_REFUSED
        ]
        refreshed = await gateway.post(
            "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}, headers=session
        )
    assert me.status_code == 200, me.text
    assert me.json()["user"]["roles"] == ["accountant"]
    assert [response.status_code for response in forwarded] == [200] * len(forwarded)
    licensing = doubles["licensing"]
    assert [received.raw_path for received in licensing.received] == [
        path.split("?")[0] for _, path, _ in ACCOUNTANT_FORWARDED
    ]
    principal = received_principal(licensing, identity_service)
    assert principal.kind == "accountant" and principal.organization_id == organization.id
    assert principal.roles == ["accountant"]
    for (method, path), response in zip(ACCOUNTANT_REFUSED, refused, strict=True):
        assert response.status_code == 403, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
    # Nothing refused reached any service.
    assert len(licensing.received) == len(ACCOUNTANT_FORWARDED)
    assert not any(doubles[name].received for name in ("helpdesk", "dongle", "identity"))
    assert refreshed.status_code == 200, refreshed.text


async def test_contact_is_not_held_to_the_accountants_reach(start_edge, doubles, identity_service):
    contact = await identity_service.contact()
    async with start_edge() as gateway:
        tokens = await sign_in(gateway, contact.email, PASSWORD)
        response = await gateway.get("/api/v1/licenses", headers=bearer(tokens["access_token"]))
    assert response.status_code == 200
