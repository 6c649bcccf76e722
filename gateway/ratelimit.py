"""Rate limits at the edge: per address for the anonymous endpoint groups, per API key, per user.

Each limit is a GCRA (generic cell rate algorithm) bucket: one "theoretical arrival time" per
limited thing, moved forward by `period / limit` per call. It behaves as a sliding window — a
full allowance in a burst, then one call back every `period / limit` — and needs one number of
memory per caller. The buckets live in the process: with N gateway replicas a caller spread
over all of them gets up to N times the limit (docs/gateway.md says how to lower it).
"""

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from prometheus_client import Counter
from starlette.requests import Request

from gateway.config import GatewaySettings
from shared.auth import Principal
from shared.clock import Clock
from shared.problems import TooManyRequests

PERIOD = timedelta(minutes=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SECOND_US = 1_000_000

RATE_LIMITED = Counter(
    "kabinet_gateway_rate_limited_total", "Calls refused with 429, by limit", ["limit"]
)


@dataclass(frozen=True)
class EndpointGroup:
    """Anonymous endpoints limited together per client address."""

    name: str
    pattern: re.Pattern[str]
    methods: frozenset[str] | None = None


# The anonymous endpoints of spec/10-identity.md and spec/40-helpdesk.md rule 10, and the other
# writes anyone may repeat (license validation, KB suggestions and feedback); the first group
# that covers a call counts it (codes before the registration group they sit under).
ENDPOINT_GROUPS = (
    EndpointGroup("codes", re.compile(r"/api/v1/registration/[^/]+/(verify|resend)/?")),
    EndpointGroup("registration", re.compile(r"/api/v1/registration(/.*)?")),
    EndpointGroup("login", re.compile(r"/api/v1/auth/(login|accountant)/?")),
    EndpointGroup("recovery", re.compile(r"/api/v1/auth/password-recovery(/.*)?")),
    EndpointGroup("callbacks", re.compile(r"/api/v1/callbacks/?"), frozenset({"POST"})),
    EndpointGroup("validation", re.compile(r"/api/v1/licenses/validate/?"), frozenset({"POST"})),
    EndpointGroup(
        "knowledge_base",
        re.compile(r"/api/v1/kb/(suggest|articles/[^/]+/feedback)/?"),
        frozenset({"POST"}),
    ),
)


def _one_pattern(groups: Sequence[tuple[int, EndpointGroup]]) -> re.Pattern[str]:
    """The groups' patterns as one, each alternative named by its group's position: the
    first alternative that matches the whole path is the first group that covers it."""
    return re.compile("|".join(f"(?P<g{index}>{group.pattern.pattern})" for index, group in groups))


# Every call is looked up here: one match against one pattern per method, not a match per group.
_GROUPS_BY_POSITION = tuple(enumerate(ENDPOINT_GROUPS))
_ANY_METHOD = _one_pattern(
    [(index, group) for index, group in _GROUPS_BY_POSITION if group.methods is None]
)
_BY_METHOD = {
    method: _one_pattern(
        [
            (index, group)
            for index, group in _GROUPS_BY_POSITION
            if group.methods is None or method in group.methods
        ]
    )
    for method in {method for group in ENDPOINT_GROUPS for method in group.methods or ()}
}


def endpoint_group(method: str, path: str) -> str | None:
    """The anonymous endpoint group of a call, or None for a path in no group."""
    match = _BY_METHOD.get(method, _ANY_METHOD).fullmatch(path)
    if match is None or match.lastgroup is None:
        return None
    return ENDPOINT_GROUPS[int(match.lastgroup[1:])].name


@dataclass(frozen=True)
class Bucket:
    """One limited thing: `limit` calls per period for `key` under the limit `name`."""

    name: str
    key: str
    limit: int
    description: str


@dataclass(frozen=True)
class Quota:
    """Where a bucket stands after a call: what the `RateLimit-*` headers tell the caller."""

    bucket: Bucket
    remaining: int
    reset_seconds: int
    retry_after_seconds: int = 0

    @property
    def allowed(self) -> bool:
        return self.retry_after_seconds == 0

    def headers(self) -> dict[str, str]:
        return {
            "RateLimit-Limit": str(self.bucket.limit),
            "RateLimit-Remaining": str(self.remaining),
            "RateLimit-Reset": str(self.reset_seconds),
        }


def _whole_seconds(microseconds: int) -> int:
    return math.ceil(microseconds / _SECOND_US)


class Gcra:
    """GCRA buckets keyed by (limit name, key), on an injectable clock."""

    def __init__(self, clock: Clock, period: timedelta = PERIOD) -> None:
        self._clock = clock
        self._period = period // _MICROSECOND
        self._arrivals: dict[tuple[str, str], int] = {}
        self._swept_at = 0

    @property
    def tracked(self) -> int:
        """How many buckets are held in memory (a full bucket may be forgotten)."""
        return len(self._arrivals)

    def admit(self, buckets: Sequence[Bucket]) -> Quota:
        """Counts one call in every bucket, or in none when one of them is exhausted.

        The answer is the exhausted bucket's quota (not allowed), else the tightest one.
        """
        now = (self._clock.now() - _EPOCH) // _MICROSECOND
        self._sweep(now)
        quotas: list[Quota] = []
        arrivals: list[int] = []
        for bucket in buckets:
            interval = max(1, self._period // bucket.limit)
            arrival = max(self._arrivals.get((bucket.name, bucket.key), now), now)
            next_arrival = arrival + interval
            allowed_at = next_arrival - self._period
            if now < allowed_at:
                return Quota(
                    bucket,
                    remaining=0,
                    reset_seconds=_whole_seconds(arrival - now),
                    retry_after_seconds=max(1, _whole_seconds(allowed_at - now)),
                )
            arrivals.append(next_arrival)
            quotas.append(
                Quota(
                    bucket,
                    remaining=(self._period - (next_arrival - now)) // interval,
                    reset_seconds=_whole_seconds(next_arrival - now),
                )
            )
        for bucket, next_arrival in zip(buckets, arrivals, strict=True):
            self._arrivals[(bucket.name, bucket.key)] = next_arrival
        return min(quotas, key=lambda quota: quota.remaining)

    def refund(self, bucket: Bucket) -> None:
        """Gives back the call `admit` last counted in `bucket`."""
        key = (bucket.name, bucket.key)
        if key in self._arrivals:
            self._arrivals[key] -= max(1, self._period // bucket.limit)

    def _sweep(self, now: int) -> None:
        """Forgets buckets that are full again (at most once a period): memory stays bounded."""
        if now - self._swept_at < self._period:
            return
        self._swept_at = now
        self._arrivals = {key: at for key, at in self._arrivals.items() if at > now}


class RateLimited(TooManyRequests):
    def __init__(self, quota: Quota) -> None:
        super().__init__(
            f"More than {quota.bucket.limit} calls a minute {quota.bucket.description}; "
            f"try again in {quota.retry_after_seconds} s",
            retry_after=quota.retry_after_seconds,
        )
        self.headers.update(quota.headers())


class RateLimits:
    """Which buckets a call counts in, and the verdict."""

    def __init__(self, settings: GatewaySettings, clock: Clock) -> None:
        self._settings = settings
        self._gcra = Gcra(clock)

    def admit(self, request: Request, caller: Principal | None) -> Quota | None:
        """The tightest quota the call counted in (None: no limit applies); 429 when exhausted."""
        buckets = self.buckets(request, caller)
        if not buckets:
            return None
        quota = self._gcra.admit(buckets)
        if not quota.allowed:
            RATE_LIMITED.labels(quota.bucket.name).inc()
            raise RateLimited(quota)
        return quota

    def hold_failure(self, request: Request) -> Bucket:
        """Counts a credential about to be checked as a failure of its address (429 when the
        address has none left, and then it is not even checked), until `clear_failure` gives
        it back. Held before the check, so concurrent guesses cannot overrun the limit."""
        bucket = self._failures(request)
        quota = self._gcra.admit([bucket])
        if not quota.allowed:
            RATE_LIMITED.labels(bucket.name).inc()
            raise RateLimited(quota)
        return bucket

    def clear_failure(self, bucket: Bucket) -> None:
        """The credential verified (or could not be checked): not a failure after all."""
        self._gcra.refund(bucket)

    def _failures(self, request: Request) -> Bucket:
        # Throttled like an anonymous caller (spec: Gateway), per address.
        return Bucket(
            "failed_authentication",
            _address(request),
            self._settings.anon_rate_per_minute,
            "with a credential that did not verify from this address",
        )

    def buckets(self, request: Request, caller: Principal | None) -> list[Bucket]:
        settings = self._settings
        buckets: list[Bucket] = []
        # Counted per address whoever calls: a credential must not lift the login limit.
        group = endpoint_group(request.method, request.scope["path"])
        if group is not None:
            buckets.append(
                Bucket(
                    group,
                    _address(request),
                    settings.anon_rate_per_minute,
                    f"from this address to the {group} endpoints",
                )
            )
        if caller is not None and caller.kind == "api_key":
            buckets.append(
                Bucket(
                    "api_key",
                    str(caller.api_key_id),
                    settings.api_key_rate_per_minute,
                    "with this API key",
                )
            )
        elif caller is not None:
            # An accountant session has no user: its organization's sessions share one bucket.
            who = str(caller.user_id or f"organization:{caller.organization_id}")
            buckets.append(
                Bucket("user", who, settings.user_rate_per_minute, "for this signed-in user")
            )
        return buckets


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
