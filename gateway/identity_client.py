"""The two questions the gateway asks identity: its signing keys (JWKS) and who an API key
belongs to, each with a short timeout. identity unreachable, or answering nonsense, is a 503:
a credential can then be neither accepted nor refused."""

import uuid
from typing import Any

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from shared.auth import Principal
from shared.observability import REQUEST_ID_HEADER, current_request_id
from shared.problems import ProblemError

log = structlog.get_logger(__name__)

JWKS_PATH = "/api/v1/auth/jwks.json"
API_KEY_VERIFY_PATH = "/internal/api-keys/verify"
PARTNER_ROLE = "partner"


class AuthenticationUnavailable(ProblemError):
    """identity could not be asked, so a credential can be neither accepted nor refused."""

    status, type_name, title = 503, "authentication-unavailable", "Authentication unavailable"


class VerifiedApiKey(BaseModel):
    """identity's answer for a live key (`POST /internal/api-keys/verify`)."""

    api_key_id: uuid.UUID
    organization_id: uuid.UUID
    scopes: list[str]
    prefix: str

    def principal(self) -> Principal:
        return Principal(
            kind="api_key",
            api_key_id=self.api_key_id,
            organization_id=self.organization_id,
            scopes=self.scopes,
            roles=[PARTNER_ROLE],
        )


class IdentityClient:
    """The two questions the gateway asks identity, each with a short timeout."""

    def __init__(self, client: httpx.AsyncClient, identity_url: str, timeout: float) -> None:
        self._client = client
        self._url = identity_url.rstrip("/")
        self._timeout = timeout

    async def jwks(self) -> list[dict[str, Any]]:
        response = await self._ask("GET", JWKS_PATH)
        if response.status_code != 200:
            raise AuthenticationUnavailable(f"identity answered {response.status_code} for keys")
        try:
            keys = response.json()["keys"]
        except (ValueError, KeyError, TypeError) as exc:
            raise AuthenticationUnavailable("identity's key set is unreadable") from exc
        if not isinstance(keys, list):
            raise AuthenticationUnavailable("identity's key set is unreadable")
        return [key for key in keys if isinstance(key, dict)]

    async def api_key(self, key: str) -> VerifiedApiKey | None:
        """Who `key` belongs to; None when identity does not know it (or it is malformed)."""
        response = await self._ask("POST", API_KEY_VERIFY_PATH, json={"key": key})
        if response.status_code in (404, 422):
            return None
        if response.status_code != 200:
            raise AuthenticationUnavailable(f"identity answered {response.status_code} for a key")
        try:
            return VerifiedApiKey.model_validate_json(response.content)
        except ValidationError as exc:
            raise AuthenticationUnavailable("identity's answer for a key is unreadable") from exc

    async def _ask(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {REQUEST_ID_HEADER: request_id} if (request_id := current_request_id()) else {}
        try:
            return await self._client.request(
                method, self._url + path, headers=headers, timeout=self._timeout, **kwargs
            )
        except httpx.HTTPError as exc:
            log.warning("identity_unreachable", path=path, error=repr(exc))
            raise AuthenticationUnavailable("The identity service cannot be reached") from exc
