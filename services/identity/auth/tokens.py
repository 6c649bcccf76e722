"""Access tokens (RS256 JWT, keys shared through the database, public part as JWKS) and refresh
tokens (opaque, rotating, stored only as a SHA-256 hash)."""

import hashlib
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.auth.repository import SigningKeyRepository
from services.identity.models import SigningKey
from shared.db import hold_advisory_lock
from shared.service import Runtime

ALGORITHM = "RS256"
AUDIENCE = "kabinet"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ActiveKey:
    kid: str
    private_key: Any


def _generate() -> tuple[str, str, dict[str, Any]]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    kid = uuid.uuid4().hex
    jwk = json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    jwk.update({"kid": kid, "use": "sig", "alg": ALGORITHM})
    return kid, pem, jwk


async def ensure_signing_key(runtime: Runtime) -> None:
    """At start: one active key exists (made by whichever replica gets there first)."""
    async with runtime.sessionmaker() as session, session.begin():
        await hold_advisory_lock(session, "signing-key")
        if await SigningKeyRepository(session).newest_active() is None:
            await rotate_signing_key(session, runtime.clock.now())


async def rotate_signing_key(session: AsyncSession, now: datetime) -> str:
    """Retires the active key (still published until its tokens expire) and makes a new one."""
    keys = SigningKeyRepository(session)
    for key in await keys.active():
        key.retired_at = now
    kid, pem, jwk = _generate()
    await keys.add(SigningKey(kid=kid, private_pem=pem, public_jwk=jwk, created_at=now))
    return kid


async def active_key(session: AsyncSession) -> ActiveKey:
    key = await SigningKeyRepository(session).newest_active()
    if key is None:
        raise RuntimeError("no signing key; ensure_signing_key runs at start")
    return ActiveKey(key.kid, _load_private(key.private_pem))


_private_cache: dict[str, Any] = {}


def _load_private(pem: str) -> Any:
    if pem not in _private_cache:
        _private_cache[pem] = serialization.load_pem_private_key(pem.encode(), password=None)
    return _private_cache[pem]


async def published_keys(session: AsyncSession, now: datetime, grace: timedelta) -> list[dict]:
    """The JWKS: the active key and retired ones whose tokens may still be alive."""
    keys = await SigningKeyRepository(session).active_or_retired_since(now - grace)
    return [dict(key.public_jwk) for key in keys]


def encode_access_token(
    key: ActiveKey,
    *,
    issuer: str,
    subject: str,
    kind: str,
    organization_id: uuid.UUID | None,
    user_id: uuid.UUID | None,
    roles: list[str],
    now: datetime,
    ttl: timedelta,
) -> str:
    claims = {
        "iss": issuer,
        "aud": AUDIENCE,
        "sub": subject,
        "kind": kind,
        "org": str(organization_id) if organization_id else None,
        "uid": str(user_id) if user_id else None,
        "roles": roles,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(claims, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})
