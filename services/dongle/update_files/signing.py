"""The Ed25519 key that signs update files, and the JWKS anyone verifies them with.

In production the private key is configured (`KABINET_UPDATE_FILE_SIGNING_KEY` or `…_FILE`);
without one (development) the first replica to start generates it into the database, where the
others find it. Every key that ever signed stays in `signing_keys` with its public JWK, so a
file signed before a key change still verifies.
"""

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.config import Settings
from services.dongle.models import SigningKey
from services.dongle.update_files.files import Signer
from shared.db import advisory_key
from shared.service import Runtime
from shared.signing import ed25519_public_jwk, new_ed25519_pem


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
        return Signer(ed25519_public_jwk(pem)["kid"], pem)

    async def published(self, session: AsyncSession) -> list[dict[str, str]]:
        rows = await session.scalars(select(SigningKey.public_jwk).order_by(SigningKey.created_at))
        return [dict(jwk) for jwk in rows]


update_file_keys = UpdateFileKeys()
