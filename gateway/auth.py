"""Authentication at the edge: who the caller is, told to the services in a signed header.

A caller shows either `Authorization: Bearer <JWT>` (a session issued by identity, verified here
against identity's JWKS) or `X-API-Key: <key>` (a partner key, checked with identity). The
proxy removes every `X-Kabinet-*` header and both credentials from what it forwards, then adds
the one `X-Kabinet-Principal` header that `caller_headers` signs, so nothing a service learns
about the caller can be forged from outside. A call without a credential goes on anonymously:
each service decides what anyone may do.
"""

import asyncio
import contextlib
import functools
import hashlib
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
from gateway.routes import has_dot_segments, path_under
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.clock import Clock
from shared.observability import REQUEST_ID_HEADER, current_request_id
from shared.problems import Forbidden, ProblemError, Unauthorized

log = structlog.get_logger(__name__)

CALLER_HEADER_PREFIX = "x-kabinet-"
API_KEY_HEADER = "X-API-Key"
# Credentials end at the edge: a service learns the caller only from the signed principal.
CREDENTIAL_HEADERS = frozenset({b"authorization", API_KEY_HEADER.lower().encode()})

JWKS_PATH = "/api/v1/auth/jwks.json"
API_KEY_VERIFY_PATH = "/internal/api-keys/verify"
# identity's side of the token contract (services/identity/auth/tokens.py).
JWT_ALGORITHM = "RS256"
JWT_AUDIENCE = "kabinet"
PARTNER_ROLE = "partner"

REFUSED_SESSION = "The access token is invalid or has expired; sign in again"
UNKNOWN_API_KEY = "The API key is unknown or has been revoked"

AUTHENTICATIONS = Counter(
    "kabinet_gateway_authentications_total",
    "Credentials the gateway checked, by kind and outcome",
    ["credential", "outcome"],
)
JWKS_FETCHES = Counter(
    "kabinet_gateway_jwks_fetches_total", "Fetches of identity's JWKS, by outcome", ["outcome"]
)


class AuthenticationUnavailable(ProblemError):
    """identity could not be asked, so a credential can be neither accepted nor refused."""

    status, type_name, title = 503, "authentication-unavailable", "Authentication unavailable"


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


def _timestamp(clock: Clock) -> float:
    return clock.now().timestamp()


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


class SigningKeys:
    """identity's public signing keys, fetched as JWKS and cached.

    A `kid` not in the cache means identity rotated its key, so the set is fetched again, but
    never sooner than `refetch_seconds` after the last fetch: tokens with made-up `kid`s cost
    identity at most one request per interval. The whole set is also fetched again once older
    than `max_age_seconds`, so keys identity stopped publishing stop being accepted.
    """

    def __init__(
        self,
        identity: IdentityClient,
        clock: Clock,
        *,
        max_age_seconds: float,
        refetch_seconds: float,
    ) -> None:
        self._identity = identity
        self._clock = clock
        self._max_age = max_age_seconds
        self._refetch = refetch_seconds
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> jwt.PyJWK | None:
        """The published key `kid`, or None when identity does not publish it."""
        if self._needs_fetch(kid):
            async with self._lock:
                # Whoever waited for the lock may find the set already fetched.
                if self._needs_fetch(kid):
                    await self._fetch(keep_cached=kid in self._keys)
        if self._fetched_at is None:
            raise AuthenticationUnavailable("identity's signing keys are not known yet")
        return self._keys.get(kid)

    async def readiness(self) -> str:
        """ "ok" once identity's keys are at hand (fetched now if they never were)."""
        if self._fetched_at is None:
            async with self._lock:
                if self._fetched_at is None and self._may_fetch():
                    with contextlib.suppress(AuthenticationUnavailable):
                        await self._fetch(keep_cached=False)
        return "ok" if self._fetched_at is not None else "unavailable: identity's keys unknown"

    def _may_fetch(self) -> bool:
        now = _timestamp(self._clock)
        return self._attempted_at is None or now - self._attempted_at >= self._refetch

    def _needs_fetch(self, kid: str) -> bool:
        now = _timestamp(self._clock)
        if self._attempted_at is not None and now - self._attempted_at < self._refetch:
            return False
        if self._fetched_at is None or kid not in self._keys:
            return True
        return now - self._fetched_at >= self._max_age

    async def _fetch(self, *, keep_cached: bool) -> None:
        self._attempted_at = _timestamp(self._clock)
        try:
            published = await self._identity.jwks()
        except AuthenticationUnavailable:
            JWKS_FETCHES.labels("failed").inc()
            if not keep_cached:
                raise
            log.warning("jwks_refresh_failed", kept=len(self._keys))
            return
        JWKS_FETCHES.labels("ok").inc()
        self._keys = _usable_keys(published)
        self._fetched_at = self._attempted_at
        log.info("jwks_fetched", kids=sorted(self._keys))


def _usable_keys(published: list[dict[str, Any]]) -> dict[str, jwt.PyJWK]:
    keys: dict[str, jwt.PyJWK] = {}
    for entry in published:
        kid = entry.get("kid")
        if not isinstance(kid, str) or entry.get("alg", JWT_ALGORITHM) != JWT_ALGORITHM:
            continue
        try:
            keys[kid] = jwt.PyJWK(entry, algorithm=JWT_ALGORITHM)
        except jwt.PyJWTError as exc:
            log.warning("jwks_key_skipped", kid=kid, error=repr(exc))
    return keys


@dataclass
class _CachedVerdict:
    expires_at: float
    verified: VerifiedApiKey | None


class ApiKeyVerdicts:
    """identity's verdicts on API keys, kept `ttl_seconds`, valid and unknown keys apart.

    Keyed by a SHA-256 of the key, so the cache holds no usable secret. Unknown keys have a
    cache of their own, so a flood of made-up keys pushes out only other made-up keys, never a
    partner's real one. Concurrent calls with the same uncached key share one question.
    """

    def __init__(
        self,
        identity: IdentityClient,
        clock: Clock,
        *,
        ttl_seconds: float,
        max_entries: int,
        max_unknown_entries: int,
    ) -> None:
        self._identity = identity
        self._clock = clock
        self._ttl = ttl_seconds
        self._limits = {True: max_entries, False: max_unknown_entries}
        # Insertion order is expiry order: every entry lives the same `ttl_seconds`.
        self._verdicts: dict[bool, OrderedDict[str, _CachedVerdict]] = {
            True: OrderedDict(),
            False: OrderedDict(),
        }
        self._asking: dict[str, asyncio.Task[VerifiedApiKey | None]] = {}

    async def verify(self, key: str) -> VerifiedApiKey | None:
        digest = hashlib.sha256(key.encode()).hexdigest()
        now = _timestamp(self._clock)
        for verdicts in self._verdicts.values():
            cached = verdicts.get(digest)
            if cached is not None and cached.expires_at > now:
                return cached.verified
        asking = self._asking.get(digest)
        if asking is None:
            asking = asyncio.create_task(self._ask(digest, key))
            self._asking[digest] = asking
            asking.add_done_callback(functools.partial(self._done_asking, digest))
        # Shielded: one caller giving up must not cancel the answer the others wait for.
        return await asyncio.shield(asking)

    def _done_asking(self, digest: str, asking: "asyncio.Task[VerifiedApiKey | None]") -> None:
        self._asking.pop(digest, None)
        # Marks a failure as seen even when every waiter has gone (no "never retrieved" noise).
        if not asking.cancelled():
            asking.exception()

    async def _ask(self, digest: str, key: str) -> VerifiedApiKey | None:
        verified = await self._identity.api_key(key)
        if self._ttl > 0:
            now = _timestamp(self._clock)
            for verdicts in self._verdicts.values():
                _forget_expired(verdicts, now)
                verdicts.pop(digest, None)
            known = verified is not None
            verdicts = self._verdicts[known]
            verdicts[digest] = _CachedVerdict(now + self._ttl, verified)
            while len(verdicts) > self._limits[known]:
                verdicts.popitem(last=False)
        return verified


def _forget_expired(verdicts: "OrderedDict[str, _CachedVerdict]", now: float) -> None:
    while verdicts:
        oldest = next(iter(verdicts.values()))
        if oldest.expires_at > now:
            return
        verdicts.popitem(last=False)


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
            request.method, request.url.path
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
        now = _timestamp(self._clock)
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
        verified = await self.api_keys.verify(key) if key else None
        if verified is None:
            AUTHENTICATIONS.labels("api_key", "refused").inc()
            raise Unauthorized(UNKNOWN_API_KEY)
        AUTHENTICATIONS.labels("api_key", "ok").inc()
        return verified.principal()
