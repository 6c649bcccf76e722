"""The Ed25519 key that signs update files, and the JWKS anyone verifies them with.

In production the private key is configured (`KABINET_UPDATE_FILE_SIGNING_KEY` or `…_FILE`);
without one (development) the first replica to start generates it into the database, where the
others find it. Every key that ever signed stays in `signing_keys` with its public JWK, so a
file signed before a key change still verifies.
"""

import base64
import json
from dataclasses import dataclass
from functools import cached_property

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.config import Settings
from services.dongle.models import SigningKey
from shared.db import advisory_key
from shared.service import Runtime
from shared.signing import ED25519_ALGORITHM, ed25519_public_jwk, load_ed25519, new_ed25519_pem

JWS_TYPE = "JOSE"


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


@dataclass(frozen=True)
class Signer:
    kid: str
    private_key: Ed25519PrivateKey

    @cached_property
    def _protected_header(self) -> bytes:
        header = {"alg": ED25519_ALGORITHM, "kid": self.kid, "typ": JWS_TYPE}
        return _b64(json.dumps(header, separators=(",", ":"), sort_keys=True).encode())

    def sign(self, payload: bytes) -> str:
        """A compact JWS (RFC 7515) of the payload bytes, EdDSA with `kid` in the header.
        Assembled here rather than by PyJWT because the monthly run signs 100,000 at a time and
        the header is the same for all of them; the tests verify the result with PyJWT."""
        signing_input = self._protected_header + b"." + _b64(payload)
        return (signing_input + b"." + _b64(self.private_key.sign(signing_input))).decode()


class UpdateFileKeys:
    def __init__(self) -> None:
        self._configured_pem: str | None = None

    def configured_pem(self, settings: Settings) -> str | None:
        if settings.update_file_signing_key is not None:
            return settings.update_file_signing_key.get_secret_value()
        if settings.update_file_signing_key_file is not None:
            return settings.update_file_signing_key_file.read_text()
        return None

    async def ensure(self, runtime: Runtime) -> None:
        """At start: the configured key is published, or one exists in the database."""
        settings = runtime.settings
        assert isinstance(settings, Settings)
        self._configured_pem = self.configured_pem(settings)
        async with runtime.sessionmaker() as session, session.begin():
            await session.execute(
                select(func.pg_advisory_xact_lock(advisory_key("dongle:update-file-key")))
            )
            if self._configured_pem is not None:
                jwk = ed25519_public_jwk(self._configured_pem)
                await session.execute(
                    insert(SigningKey)
                    .values(kid=jwk["kid"], public_jwk=jwk, created_at=runtime.clock.now())
                    .on_conflict_do_nothing()
                )
            elif await self._newest_stored(session) is None:
                pem = new_ed25519_pem()
                jwk = ed25519_public_jwk(pem)
                session.add(
                    SigningKey(
                        kid=jwk["kid"],
                        private_pem=pem,
                        public_jwk=jwk,
                        created_at=runtime.clock.now(),
                    )
                )

    async def _newest_stored(self, session: AsyncSession) -> SigningKey | None:
        return await session.scalar(
            select(SigningKey)
            .where(SigningKey.private_pem.is_not(None))
            .order_by(SigningKey.created_at.desc())
            .limit(1)
        )

    async def signer(self, session: AsyncSession) -> Signer:
        pem = self._configured_pem
        if pem is None:
            stored = await self._newest_stored(session)
            if stored is None or stored.private_pem is None:
                raise RuntimeError(
                    "no update-file signing key; UpdateFileKeys.ensure runs at start"
                )
            pem = stored.private_pem
        return Signer(ed25519_public_jwk(pem)["kid"], load_ed25519(pem))

    async def published(self, session: AsyncSession) -> list[dict[str, str]]:
        rows = await session.scalars(select(SigningKey.public_jwk).order_by(SigningKey.created_at))
        return [dict(jwk) for jwk in rows]


update_file_keys = UpdateFileKeys()
