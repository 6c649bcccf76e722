"""Partner API keys (rule 10): shown once, stored as a hash, visible prefix, last use, revocable.

A key reads `kab_<8-character prefix>_<secret>`. The secret has 256 random bits, so a plain
SHA-256 of the key is enough to store it (no slow hash needed for a key nobody can guess),
and the verification the gateway asks for on every partner call stays cheap.
"""

import hashlib
import hmac
import secrets
import string
import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.api_keys.repository import ApiKeyRepository
from services.identity.api_keys.schemas import ApiKeyCreate
from services.identity.models import ApiKey
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import PageParams
from shared.problems import InvalidInput, NotFound

KEY_TAG = "kab"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = string.ascii_lowercase + string.digits
SECRET_BYTES = 32  # 43 URL-safe characters
MIN_SECRET_LENGTH = 32
# Verification is on every partner call; the last use is written at most this often per key.
LAST_USE_RESOLUTION = timedelta(minutes=1)
# Compared against when the prefix is unknown, so every verification hashes and compares.
_NO_KEY_HASH = "0" * 64


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def visible_prefix(key: str) -> str | None:
    """`kab_XXXXXXXX` of a well-formed key, None for anything else."""
    tag, _, rest = key.partition("_")
    prefix, _, secret = rest.partition("_")
    if (
        tag != KEY_TAG
        or len(prefix) != PREFIX_LENGTH
        or any(char not in PREFIX_ALPHABET for char in prefix)
        or len(secret) < MIN_SECRET_LENGTH
    ):
        return None
    return f"{KEY_TAG}_{prefix}"


def _new_prefix() -> str:
    return f"{KEY_TAG}_" + "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))


class ApiKeyService:
    async def issue(
        self, session: AsyncSession, clock: Clock, admin: Principal, asked: ApiKeyCreate
    ) -> tuple[ApiKey, str]:
        """The new key and, once only, its full text."""
        keys = ApiKeyRepository(session)
        if not await keys.organization_exists(asked.organization_id):
            raise InvalidInput("organization_id", "no organization has this id")
        prefix = _new_prefix()
        while await keys.prefix_taken(prefix):
            prefix = _new_prefix()
        key = f"{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        api_key = ApiKey(
            organization_id=asked.organization_id,
            name=asked.name.strip(),
            prefix=prefix,
            secret_hash=key_hash(key),
            scopes=list(dict.fromkeys(asked.scopes)),
            created_by=admin.user_id,
            created_at=clock.now(),
        )
        return await keys.add(api_key), key

    async def list_keys(
        self, session: AsyncSession, params: PageParams, organization_id: uuid.UUID | None
    ) -> tuple[list[ApiKey], str | None]:
        return await ApiKeyRepository(session).page(params, organization_id=organization_id)

    async def revoke(self, session: AsyncSession, clock: Clock, api_key_id: uuid.UUID) -> None:
        """Revoked at once: the next verification fails. Revoking again changes nothing."""
        api_key = await ApiKeyRepository(session).get(api_key_id)
        if api_key is None:
            raise NotFound("No such API key")
        if api_key.revoked_at is None:
            api_key.revoked_at = clock.now()
            await session.flush()

    async def verify(self, session: AsyncSession, clock: Clock, key: str) -> ApiKey:
        """The live key `key` is, its use recorded; 404 alike for unknown, wrong and revoked."""
        keys = ApiKeyRepository(session)
        prefix = visible_prefix(key)
        api_key = await keys.with_prefix(prefix) if prefix else None
        expected = api_key.secret_hash if api_key is not None else _NO_KEY_HASH
        matches = hmac.compare_digest(key_hash(key), expected)
        if api_key is None or not matches or api_key.revoked_at is not None:
            raise NotFound("Unknown or revoked API key")
        now = clock.now()
        not_since = now - LAST_USE_RESOLUTION
        if api_key.last_used_at is None or api_key.last_used_at <= not_since:
            await keys.record_use(api_key.id, now, not_since)
        return api_key


api_key_service = ApiKeyService()
