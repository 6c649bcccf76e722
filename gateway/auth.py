"""Authentication at the edge: who the caller is, told to the services in a signed header.

A caller shows either `Authorization: Bearer <JWT>` (a session issued by identity, verified here
against identity's JWKS) or `X-API-Key: <key>` (a partner key, checked with identity). The
proxy removes every `X-Kabinet-*` header and both credentials from what it forwards, then adds
the one `X-Kabinet-Principal` header that `caller_headers` signs, so nothing a service learns
about the caller can be forged from outside. A call without a credential goes on anonymously:
each service decides what anyone may do.

Here: which headers carry credentials, how far an accountant session reaches, and the
`Authenticator` that verifies a credential and seals the caller for a service. identity is
asked through `gateway.identity_client`; what it answered is kept in `gateway.credentials`.
"""

import uuid
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx
import jwt
import structlog
from prometheus_client import Counter
from pydantic import BaseModel, ValidationError
from starlette.requests import Request

from gateway.config import GatewaySettings
from gateway.credentials import JWT_ALGORITHM, ApiKeyVerdicts, SigningKeys, timestamp
from gateway.identity_client import IdentityClient, VerifiedApiKey
from gateway.routes import has_dot_segments, path_under
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.clock import Clock
from shared.problems import Forbidden, Unauthorized

log = structlog.get_logger(__name__)

CALLER_HEADER_PREFIX = "x-kabinet-"
API_KEY_HEADER = "X-API-Key"
# Credentials end at the edge: a service learns the caller only from the signed principal.
CREDENTIAL_HEADERS = frozenset({b"authorization", API_KEY_HEADER.lower().encode()})

# identity's side of the token contract (services/identity/auth/tokens.py).
JWT_AUDIENCE = "kabinet"

REFUSED_SESSION = "The access token is invalid or has expired; sign in again"
UNKNOWN_API_KEY = "The API key is unknown or has been revoked"

AUTHENTICATIONS = Counter(
    "kabinet_gateway_authentications_total",
    "Credentials the gateway checked, by kind and outcome",
    ["credential", "outcome"],
)


def is_caller_header(name: str | bytes) -> bool:
    """True for `X-Kabinet-*` headers, in any letter case."""
    text = name.decode("latin-1") if isinstance(name, bytes) else name
    return text.lower().startswith(CALLER_HEADER_PREFIX)


def is_credential_header(name: bytes) -> bool:
    """True for the headers that carry a credential (`name` already lower-case)."""
    return name in CREDENTIAL_HEADERS


@dataclass(frozen=True)
class Reach:
    """Paths at and below `prefix` (or exactly `prefix`), for `methods` (None: any method)."""

    prefix: str
    methods: frozenset[str] | None = None
    exact: bool = False

    def covers(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        return path == self.prefix if self.exact else path_under(path, self.prefix)


READ = frozenset({"GET", "HEAD"})

# identity rule 7 and licensing rule 10: an accountant session sees its profile, its own
# session endpoints, reconciliation statements and the financial documents (contracts,
# invoices, acts, document files) of the licensing endpoint table, read-only; nothing else.
ACCOUNTANT_REACH = (
    Reach("/api/v1/me", READ, exact=True),
    Reach("/api/v1/auth"),
    Reach("/api/v1/reconciliation", READ),
    Reach("/api/v1/contracts", READ),
    Reach("/api/v1/invoices", READ),
    Reach("/api/v1/acts", READ),
    Reach("/api/v1/documents", READ),
)


def accountant_may_reach(method: str, path: str) -> bool:
    if has_dot_segments(path):
        return False
    return any(reach.covers(method, path) for reach in ACCOUNTANT_REACH)


class TokenClaims(BaseModel):
    """The caller part of an identity access token."""

    kind: Literal["user", "accountant"]
    uid: uuid.UUID | None = None
    org: uuid.UUID | None = None
    roles: list[str] = []

    def principal(self) -> Principal:
        return Principal(
            kind=self.kind, user_id=self.uid, organization_id=self.org, roles=self.roles
        )


# Sessions whose signature check is remembered (each entry a token and its claims).
VERIFIED_TOKENS_KEPT = 4096


@dataclass(frozen=True)
class _VerifiedToken:
    key: jwt.PyJWK
    claims: Mapping[str, Any]
    principal: Principal


class Authenticator:
    """Turns a request's credential into the verified caller, or refuses the request."""

    def __init__(self, settings: GatewaySettings, client: httpx.AsyncClient, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        identity = IdentityClient(
            client, settings.service_urls()["identity"], settings.gateway_identity_timeout
        )
        self.signing_keys = SigningKeys(
            identity,
            clock,
            max_age_seconds=settings.gateway_jwks_max_age_seconds,
            refetch_seconds=settings.gateway_jwks_refetch_seconds,
        )
        self.api_keys = ApiKeyVerdicts(
            identity,
            clock,
            ttl_seconds=settings.gateway_api_key_cache_seconds,
            max_entries=settings.gateway_api_key_cache_entries,
            max_unknown_entries=settings.gateway_unknown_api_key_cache_entries,
        )
        self._verified_tokens: OrderedDict[str, _VerifiedToken] = OrderedDict()

    @staticmethod
    def has_credential(request: Request) -> bool:
        headers = request.headers
        return "authorization" in headers or API_KEY_HEADER in headers

    async def identify(self, request: Request) -> Principal | None:
        """The verified caller of `request`, or None for a call without a credential.

        A credential that does not verify is a 401 and the call goes no further; an accountant
        session outside its reach (`ACCOUNTANT_REACH`) is a 403.
        """
        authorization = request.headers.get("authorization")
        api_key = request.headers.get(API_KEY_HEADER)
        if authorization is not None and api_key is not None:
            raise Unauthorized("Send either a bearer token or an API key, not both")
        if authorization is not None:
            principal = await self._from_token(authorization)
        elif api_key is not None:
            principal = await self._from_api_key(api_key)
        else:
            return None
        if principal.kind == "accountant" and not accountant_may_reach(
            request.method, request.scope["path"]
        ):
            raise Forbidden("An accountant session sees reconciliation statements and documents")
        return principal

    def caller_headers(
        self, principal: Principal | None, service: str, request: Request
    ) -> dict[str, str]:
        """The headers that tell `service` who makes this call; none for an anonymous call."""
        if principal is None:
            return {}
        # Stamped with the real time: services check the header's age against their own.
        header = sign_principal(
            principal,
            self._settings.internal_secret,
            service=service,
            method=request.method,
            # The decoded path, as the service's own ASGI server will decode it.
            path=request.scope["path"],
        )
        return {PRINCIPAL_HEADER: header}

    async def _from_token(self, authorization: str) -> Principal:
        scheme, _, token = authorization.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            AUTHENTICATIONS.labels("token", "malformed").inc()
            raise Unauthorized("Use `Authorization: Bearer <access token>`")
        try:
            principal = await self._verified_principal(token)
        except (jwt.PyJWTError, ValidationError) as exc:
            AUTHENTICATIONS.labels("token", "refused").inc()
            log.info("token_refused", reason=str(exc)[:200])
            raise Unauthorized(REFUSED_SESSION) from exc
        AUTHENTICATIONS.labels("token", "ok").inc()
        return principal

    async def _verified_principal(self, token: str) -> Principal:
        """Signature, audience and issuer by PyJWT; `exp`/`nbf` against the gateway's clock.

        The signature check of a token is kept beside the key object that passed it, so a
        session's next requests cost a dictionary lookup instead of an RSA verification; a key
        identity stops publishing (or a refetch replacing it) makes every such entry miss.
        """
        kid = jwt.get_unverified_header(token).get("kid")
        if not isinstance(kid, str) or not kid:
            raise jwt.InvalidTokenError("the token names no key")
        key = await self.signing_keys.key(kid)
        if key is None:
            raise jwt.InvalidTokenError("identity publishes no key with this kid")
        verified = self._verified_tokens.get(token)
        if verified is None or verified.key is not key:
            claims = self._decoded(token, key)
            principal = TokenClaims.model_validate(claims).principal()
            verified = _VerifiedToken(key, claims, principal)
            self._verified_tokens[token] = verified
            while len(self._verified_tokens) > VERIFIED_TOKENS_KEPT:
                self._verified_tokens.popitem(last=False)
        self._check_lifetime(verified.claims)
        return verified.principal

    def _decoded(self, token: str, key: jwt.PyJWK) -> Mapping[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=[JWT_ALGORITHM],
            audience=JWT_AUDIENCE,
            issuer=self._settings.jwt_issuer,
            options={
                "require": ["exp", "iss", "aud", "sub"],
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
        return claims

    def _check_lifetime(self, claims: Mapping[str, Any]) -> None:
        now = timestamp(self._clock)
        leeway = self._settings.gateway_jwt_leeway_seconds
        expires = claims["exp"]
        if not isinstance(expires, int | float) or isinstance(expires, bool):
            raise jwt.InvalidTokenError("exp is not a time")
        if now >= expires + leeway:
            moment = datetime.fromtimestamp(expires, UTC).isoformat()
            raise jwt.ExpiredSignatureError(f"expired at {moment}")
        not_before = claims.get("nbf")
        if isinstance(not_before, int | float) and now < not_before - leeway:
            raise jwt.ImmatureSignatureError("not valid yet")

    async def _from_api_key(self, key: str) -> Principal:
        key = key.strip()
        verified: VerifiedApiKey | None = await self.api_keys.verify(key) if key else None
        if verified is None:
            AUTHENTICATIONS.labels("api_key", "refused").inc()
            raise Unauthorized(UNKNOWN_API_KEY)
        AUTHENTICATIONS.labels("api_key", "ok").inc()
        return verified.principal()
