"""Who is calling: the gateway verifies the credential and tells the service in a signed header.

The gateway strips any `X-Kabinet-*` header a client sends, authenticates the JWT or API key,
and forwards `X-Kabinet-Principal: <payload>.<hmac>`. Services verify the HMAC with the shared
internal secret, so neither a client nor anything else on the network can forge the caller.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from shared.problems import Forbidden, Unauthorized

PRINCIPAL_HEADER = "X-Kabinet-Principal"
IDENTITY_HEADER_PREFIX = "x-kabinet-"
# A signed header older than this is refused: it can only have been captured and replayed.
MAX_AGE_SECONDS = 120

STAFF_ROLES = frozenset({"agent", "admin"})


class Principal(BaseModel):
    kind: Literal["user", "accountant", "api_key"]
    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    roles: list[str] = []
    scopes: list[str] = []
    api_key_id: uuid.UUID | None = None
    issued_at: int = 0

    @property
    def is_staff(self) -> bool:
        return bool(STAFF_ROLES.intersection(self.roles))

    def has_role(self, *roles: str) -> bool:
        return bool(set(roles).intersection(self.roles))

    def may_see_organization(self, organization_id: uuid.UUID) -> bool:
        return self.is_staff or self.organization_id == organization_id


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(data: str) -> bytes:
    return base64.urlsafe_b64decode(data + "=" * (-len(data) % 4))


def sign_principal(principal: Principal, secret: str, now: float | None = None) -> str:
    stamped = principal.model_copy(update={"issued_at": int(now or time.time())})
    payload = _b64(stamped.model_dump_json().encode())
    mac = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
    return f"{payload}.{_b64(mac)}"


def verify_principal(value: str, secret: str, now: float | None = None) -> Principal | None:
    try:
        payload, mac = value.split(".", 1)
        expected = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        principal = Principal.model_validate(json.loads(_unb64(payload)))
    except (ValueError, ValidationError):
        return None
    if abs((now or time.time()) - principal.issued_at) > MAX_AGE_SECONDS:
        return None
    return principal


def optional_principal(request: Request) -> Principal | None:
    header = request.headers.get(PRINCIPAL_HEADER)
    if not header:
        return None
    secret: str = request.app.state.runtime.settings.internal_secret
    return verify_principal(header, secret)


def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("Sign in, or call with an API key")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Principal]:
    def check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_role(*roles):
            raise Forbidden(f"This needs one of the roles: {', '.join(roles)}")
        return principal

    return check


AdminPrincipal = Annotated[Principal, Depends(require_roles("admin"))]
StaffPrincipal = Annotated[Principal, Depends(require_roles(*sorted(STAFF_ROLES)))]


# What a partner API key may do, scope by scope; identity issues keys with these, and every
# partner endpoint of every service declares the one it needs with `require_scope`.
SCOPES: dict[str, str] = {
    "read": "read the partner's own and its customers' data",
    "licenses:write": "register licenses and protection keys for its customers",
    "orders:write": "place orders (key protection, renewals) for its customers",
    "tickets:write": "open and follow tickets on its customers' behalf",
    "contracts:write": "import license contracts with their licenses, acts and documents",
}


def require_scope(scope: str) -> Callable[[Principal], Principal]:
    """A caller who may use an endpoint that needs `scope`: people pass (their roles decide
    what they may do); an API key must carry the scope, or the answer is 403."""
    if scope not in SCOPES:
        raise ValueError(f"unknown API-key scope {scope!r}; add it to shared.auth.SCOPES")

    def check(principal: CurrentPrincipal) -> Principal:
        if principal.kind == "api_key" and scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the scope {scope!r}")
        return principal

    return check
