"""Who is calling: the gateway verifies the credential and tells the service in a signed header.

The gateway strips any `X-Kabinet-*` header a client sends, authenticates the JWT or API key,
and forwards `X-Kabinet-Principal: <payload>.<hmac>`, sealed for one service, one method and
one path, valid for seconds and carrying a one-time nonce. `CallerMiddleware` in every service
checks it once per request, as it arrives: a header that is forged, expired, meant for another
service, method or path, or seen before is refused with 401 before any code runs.
"""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

import structlog
from fastapi import Depends, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.problems import Forbidden, Unauthorized

log = structlog.get_logger(__name__)

PRINCIPAL_HEADER = "X-Kabinet-Principal"
IDENTITY_HEADER_PREFIX = "x-kabinet-"
_PRINCIPAL_HEADER_KEY = PRINCIPAL_HEADER.lower().encode()
# How long a caller header is good for: long enough for the hop from the gateway, far too
# short to be worth capturing (and its nonce is refused a second time anyway).
CALLER_LIFETIME_SECONDS = 10
# Clocks of the gateway and the services may differ this much.
CLOCK_SKEW_SECONDS = 5
# What `require_scope` leaves on its check and `route_scope` on each route.
API_KEY_SCOPE_ATTRIBUTE = "kabinet_api_key_scope"
_UNKNOWN = object()
# Where a service keeps a verified caller for the rest of the request (`request.state`).
_STATE_KEY = "kabinet_principal"

STAFF_ROLES = frozenset({"agent", "admin"})


class Principal(BaseModel):
    kind: Literal["user", "accountant", "api_key"]
    user_id: uuid.UUID | None = None
    organization_id: uuid.UUID | None = None
    roles: list[str] = []
    scopes: list[str] = []
    api_key_id: uuid.UUID | None = None

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


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()


def sign_principal(
    principal: Principal,
    secret: str,
    *,
    service: str,
    method: str,
    path: str,
    now: float | None = None,
    lifetime: float = CALLER_LIFETIME_SECONDS,
) -> str:
    """The header value that tells `service` who makes the call `method path`, once."""
    issued = time.time() if now is None else now
    seal = {
        "principal": principal.model_dump(mode="json", exclude_defaults=True),
        "service": service,
        "method": method,
        "path": path,
        "iat": issued,
        "exp": issued + lifetime,
        "nonce": secrets.token_urlsafe(16),
    }
    payload = _b64(json.dumps(seal, separators=(",", ":")).encode())
    return f"{payload}.{_b64(_mac(secret, payload))}"


class CallerRefused(Exception):
    """A caller header that must not be believed; the message says why (for the log only)."""


class NonceRegistry:
    """Nonces of caller headers already accepted by this process, kept until they expire.

    Headers arrive roughly in the order they were issued, so expiry order is insertion order
    and forgetting is a pop from the left: memory stays bounded by the traffic of one lifetime.
    """

    def __init__(self) -> None:
        self._seen: set[str] = set()
        self._expiries: deque[tuple[float, str]] = deque()

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, nonce: str, expires_at: float, now: float) -> bool:
        expiries = self._expiries
        while expiries and expiries[0][0] + CLOCK_SKEW_SECONDS < now:
            self._seen.discard(expiries.popleft()[1])
        if nonce in self._seen:
            return False
        self._seen.add(nonce)
        expiries.append((expires_at, nonce))
        return True


def verify_principal(
    value: str,
    secret: str,
    *,
    service: str,
    method: str,
    path: str,
    now: float | None = None,
    nonces: NonceRegistry | None = None,
) -> Principal:
    """The caller a header vouches for, or `CallerRefused` saying why it is not believed.

    Without `nonces` a replay is not detected: only services' `CallerMiddleware` has them.
    """
    try:
        payload, mac = value.split(".", 1)
        if not hmac.compare_digest(_mac(secret, payload), _unb64(mac)):
            raise CallerRefused("forged: the signature does not match")
        seal: dict[str, Any] = json.loads(_unb64(payload))
        principal = Principal.model_validate(seal["principal"])
        issued, expires, nonce = float(seal["iat"]), float(seal["exp"]), str(seal["nonce"])
        target = (seal["service"], seal["method"], seal["path"])
    except (ValueError, TypeError, KeyError, ValidationError) as exc:
        raise CallerRefused(f"malformed: {type(exc).__name__}") from exc
    if target != (service, method, path):
        raise CallerRefused(f"retargeted: sealed for {' '.join(map(str, target))}")
    moment = time.time() if now is None else now
    if not issued - CLOCK_SKEW_SECONDS <= moment <= expires + CLOCK_SKEW_SECONDS:
        raise CallerRefused("expired")
    if nonces is not None and not nonces.first_use(nonce, expires, moment):
        raise CallerRefused("replayed")
    return principal


class CallerMiddleware:
    """Checks the caller header of every request as it arrives, once (its nonce is spent).

    A request without the header goes on anonymously; one with a header that does not verify
    gets a 401 and reaches nothing.
    """

    def __init__(self, app: ASGIApp, *, service: str, secret: str) -> None:
        self.app = app
        self._service = service
        self._secret = secret
        self._nonces = NonceRegistry()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            value = next((v for k, v in scope["headers"] if k == _PRINCIPAL_HEADER_KEY), None)
            if value is not None:
                try:
                    principal = verify_principal(
                        value.decode("latin-1"),
                        self._secret,
                        service=self._service,
                        method=scope["method"],
                        path=scope["path"],
                        nonces=self._nonces,
                    )
                except CallerRefused as refused:
                    log.warning("caller_header_refused", reason=str(refused), path=scope["path"])
                    problem = Unauthorized("The caller header is not valid for this request")
                    await problem.answer(scope["path"])(scope, receive, send)
                    return
                scope.setdefault("state", {})[_STATE_KEY] = principal
        await self.app(scope, receive, send)


def principal_of(scope: Scope) -> Principal | None:
    """The caller `CallerMiddleware` verified for this request, if any."""
    principal: Principal | None = scope.get("state", {}).get(_STATE_KEY)
    return principal


async def optional_principal(request: Request) -> Principal | None:
    principal = principal_of(request.scope)
    # An API key reaches only endpoints that declare the scope they need: nothing is open to
    # partners by accident.
    if (
        principal is not None
        and principal.kind == "api_key"
        and route_scope(request.scope.get("route")) is None
    ):
        raise Forbidden("This endpoint is not open to API keys")
    return principal


async def current_principal(
    principal: Annotated[Principal | None, Depends(optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("Sign in, or call with an API key")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: str) -> Callable[[Principal], Awaitable[Principal]]:
    async def check(principal: CurrentPrincipal) -> Principal:
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


def require_scope(scope: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A caller who may use an endpoint that needs `scope`: people pass (their roles decide
    what they may do); an API key must carry the scope, or the answer is 403."""
    if scope not in SCOPES:
        raise ValueError(f"unknown API-key scope {scope!r}; add it to shared.auth.SCOPES")

    async def check(principal: CurrentPrincipal) -> Principal:
        if principal.kind == "api_key" and scope not in principal.scopes:
            raise Forbidden(f"This API key lacks the scope {scope!r}")
        return principal

    setattr(check, API_KEY_SCOPE_ATTRIBUTE, scope)
    return check


def declared_scope(dependant: Dependant) -> str | None:
    """The API-key scope an endpoint declares with `require_scope`, anywhere among its
    dependencies; None when it declares none (then API keys are refused there)."""
    scope: str | None = getattr(dependant.call, API_KEY_SCOPE_ATTRIBUTE, None)
    if scope is not None:
        return scope
    return next(
        (found for sub in dependant.dependencies if (found := declared_scope(sub)) is not None),
        None,
    )


def route_scope(route: object) -> str | None:
    """The scope the matched route declares, worked out once per route and kept on it."""
    if not isinstance(route, APIRoute):
        return None
    known: str | object | None = getattr(route, API_KEY_SCOPE_ATTRIBUTE, _UNKNOWN)
    if known is _UNKNOWN:
        known = declared_scope(route.dependant)
        setattr(route, API_KEY_SCOPE_ATTRIBUTE, known)
    return known if isinstance(known, str) else None
