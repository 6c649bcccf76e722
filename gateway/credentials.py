"""What identity said about credentials, kept for a while: its signing keys (`SigningKeys`,
the JWKS) and its verdicts on API keys (`ApiKeyVerdicts`), each bounded so that made-up
credentials cannot make the gateway hammer identity or push out what real callers need."""

import asyncio
import contextlib
import functools
import hashlib
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import jwt
import structlog
from prometheus_client import Counter

from gateway.identity_client import AuthenticationUnavailable, IdentityClient, VerifiedApiKey
from shared.clock import Clock

log = structlog.get_logger(__name__)

# identity's side of the token contract (services/identity/auth/tokens.py).
JWT_ALGORITHM = "RS256"

JWKS_FETCHES = Counter(
    "kabinet_gateway_jwks_fetches_total", "Fetches of identity's JWKS, by outcome", ["outcome"]
)


def timestamp(clock: Clock) -> float:
    return clock.now().timestamp()


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
        now = timestamp(self._clock)
        return self._attempted_at is None or now - self._attempted_at >= self._refetch

    def _needs_fetch(self, kid: str) -> bool:
        now = timestamp(self._clock)
        if self._attempted_at is not None and now - self._attempted_at < self._refetch:
            return False
        if self._fetched_at is None or kid not in self._keys:
            return True
        return now - self._fetched_at >= self._max_age

    async def _fetch(self, *, keep_cached: bool) -> None:
        self._attempted_at = timestamp(self._clock)
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
        now = timestamp(self._clock)
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
            now = timestamp(self._clock)
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
