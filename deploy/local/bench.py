"""`make bench`: the services under load, measured; never part of the tests.

identity, licensing and the gateway run in this one process (uvicorn on free loopback ports, as
in the tests) on a database of their own, `kabinet_bench_<random>`, created and migrated here and
dropped at the end. An httpx load generator, in the same process, drives each scenario through
the gateway and directly against the service, with a bounded number of requests at a fixed
concurrency, and prints requests/s, p50 and p99 per scenario, the latency the gateway adds,
and the process's memory. The gateway's rate limits are raised so they do not shape the load.

    python -m deploy.local.bench [--requests 300] [--concurrency 10]
"""

import argparse
import asyncio
import contextlib
import resource
import secrets
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from gateway.app import create_app as create_gateway_app
from gateway.config import GatewaySettings
from services.identity.accounts.passwords import hash_password
from services.identity.app import create_app as create_identity_app
from services.identity.config import Settings as IdentitySettings
from services.identity.models import Organization, User
from services.licensing.app import create_app as create_licensing_app
from services.licensing.config import Settings as LicensingSettings
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.config import PlatformSettings
from shared.db import drop_database, ensure_database
from shared.migrations import upgrade
from shared.testing.servers import serve

# High enough never to refuse a bench request: the limits are measured by the tests.
UNLIMITED_RATE = 10**9
WARM_UP_REQUESTS = 10

Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


@dataclass
class Measurement:
    scenario: str
    route: str  # "gateway" or "direct"
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    elapsed: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies) + self.errors

    @property
    def per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def percentile(self, q: int) -> float:
        """The q-th percentile latency in milliseconds (nearest-rank on the sorted sample)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


@dataclass
class Scenario:
    """One operation, sent once through the gateway and once straight to its service."""

    name: str
    through_gateway: Send
    direct: Send


async def measure(
    client: httpx.AsyncClient, scenario: str, route: str, send: Send, requests: int, workers: int
) -> Measurement:
    for _ in range(WARM_UP_REQUESTS):
        await send(client)
    measurement = Measurement(scenario, route)
    remaining = iter(range(requests))

    async def worker() -> None:
        for _ in remaining:
            started = time.perf_counter()
            try:
                response = await send(client)
            except httpx.HTTPError as exc:
                measurement.errors += 1
                measurement.first_error = measurement.first_error or repr(exc)
                continue
            if response.status_code >= 400:
                measurement.errors += 1
                measurement.first_error = measurement.first_error or (
                    f"{response.status_code} {response.text[:200]}"
                )
                continue
            measurement.latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(workers)))
    measurement.elapsed = time.perf_counter() - started
    return measurement


def bench_database_url() -> str:
    base = make_url(PlatformSettings().database_url)
    name = f"kabinet_bench_{secrets.token_hex(4)}"
    return base.set(database=name).render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    url = bench_database_url()
    await ensure_database(url)
    try:
        await asyncio.to_thread(upgrade, "identity", url)
        await asyncio.to_thread(upgrade, "licensing", url)
        yield url
    finally:
        await drop_database(url)


async def create_contact(identity_app: FastAPI, password: str) -> tuple[str, Principal]:
    """A contact of a new organization: its login and what the gateway would vouch for."""
    sessionmaker = identity_app.state.sessionmaker
    now = datetime.now(UTC)
    email = f"bench-{uuid.uuid4().hex[:10]}@example.ru"
    async with sessionmaker() as session, session.begin():
        organization = Organization(
            country="RU",
            resident=True,
            kind="legal_entity",
            legal_form="ООО",
            full_name="Общество с ограниченной ответственностью Нагрузка",
            short_name="ООО Нагрузка",
            inn="7707083893",
            kpp="773601001",
            requisites={},
            created_at=now,
            updated_at=now,
        )
        session.add(organization)
        await session.flush()
        user = User(
            organization_id=organization.id,
            full_name="Петров Пётр Петрович",
            email=email,
            phone=None,
            password_hash=hash_password(password),
            roles=["contact"],
            created_at=now,
        )
        session.add(user)
        await session.flush()
        principal = Principal(
            kind="user", user_id=user.id, organization_id=organization.id, roles=["contact"]
        )
    return email, principal


@dataclass
class Contact:
    """The signed-in contact the scenarios act as."""

    email: str
    password: str
    access_token: str
    principal: Principal


@dataclass
class KeyBoundLicense:
    """A license the validation scenario asks about, as installed software would."""

    activation_code: str
    key_serial: str


async def import_license(
    client: httpx.AsyncClient, licensing_url: str, secret: str
) -> KeyBoundLicense:
    """Imports a contract with one key-bound license straight into licensing, as an admin."""
    path = "/api/v1/contracts"
    admin = Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"])
    key_serial = "3-1234567"
    response = await client.post(
        f"{licensing_url}{path}",
        json={
            "number": f"BENCH-{uuid.uuid4().hex[:8]}",
            "date": "2026-01-01",
            "licensee": {"inn": "7707083893", "name": "ООО Нагрузка", "email": "it@bench.ru"},
            "licenses": [
                {
                    "product_code": "BAZIS_FURNITURE",
                    "seats": 1,
                    "starts_at": "2026-01-01",
                    "expires_at": "2099-12-31",
                    "key_serial": key_serial,
                }
            ],
        },
        headers={
            PRINCIPAL_HEADER: sign_principal(
                admin, secret, service="licensing", method="POST", path=path
            )
        },
    )
    response.raise_for_status()
    return KeyBoundLicense(response.json()["licenses"][0]["activation_code"], key_serial)


def scenarios(
    gateway_url: str,
    identity_url: str,
    licensing_url: str,
    contact: Contact,
    license_: KeyBoundLicense,
    secret: str,
) -> list[Scenario]:
    credentials = {"login": contact.email, "password": contact.password}
    validation = {"activation_code": license_.activation_code, "key_serial": license_.key_serial}
    principal, token = contact.principal, contact.access_token

    def login(base: str) -> Send:
        return lambda client: client.post(f"{base}/api/v1/auth/login", json=credentials)

    def validate(base: str) -> Send:
        return lambda client: client.post(f"{base}/api/v1/licenses/validate", json=validation)

    def me(base: str, headers: Callable[[], dict[str, str]]) -> Send:
        return lambda client: client.get(f"{base}/api/v1/me", headers=headers())

    return [
        Scenario("login", login(gateway_url), login(identity_url)),
        Scenario("license validate", validate(gateway_url), validate(licensing_url)),
        Scenario(
            "GET /api/v1/me",
            me(gateway_url, lambda: {"Authorization": f"Bearer {token}"}),
            # What the gateway sends the service once it has verified the token: signed per
            # call, as the gateway does, since services refuse an old signature.
            me(
                identity_url,
                lambda: {
                    PRINCIPAL_HEADER: sign_principal(
                        principal, secret, service="identity", method="GET", path="/api/v1/me"
                    )
                },
            ),
        ),
    ]


def memory() -> str:
    """The process's resident memory now and at its peak (Linux /proc, else the peak only)."""
    status = Path("/proc/self/status")
    if status.exists():
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        return f"{fields['VmRSS'].strip()} now, {fields['VmHWM'].strip()} at peak"
    return f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss} kB at peak"


def report(results: list[Measurement], requests: int, workers: int) -> None:
    print(f"\n{requests} requests per scenario at concurrency {workers}; one process holds")
    print("identity, licensing, the gateway and the load generator, so they share one CPU core.\n")
    header = f"{'scenario':<18} {'route':<8} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}"
    print(header)
    print("-" * len(header))
    for result in results:
        print(
            f"{result.scenario:<18} {result.route:<8} {result.per_second:>8.1f} "
            f"{result.percentile(50):>8.2f} {result.percentile(99):>8.2f} {result.errors:>7}"
        )
    print("\ngateway's added latency (gateway minus direct):")
    by_scenario: dict[str, dict[str, Measurement]] = {}
    for result in results:
        by_scenario.setdefault(result.scenario, {})[result.route] = result
    for scenario, routes in by_scenario.items():
        through, direct = routes["gateway"], routes["direct"]
        added_p50 = through.percentile(50) - direct.percentile(50)
        added_p99 = through.percentile(99) - direct.percentile(99)
        mean = (statistics.fmean(through.latencies) - statistics.fmean(direct.latencies)) * 1000
        print(
            f"  {scenario:<18} p50 {added_p50:+.2f} ms, p99 {added_p99:+.2f} ms, "
            f"mean {mean:+.2f} ms"
        )
    print(f"\nprocess memory (RSS): {memory()}")
    for result in results:
        if result.first_error:
            print(f"first error in {result.scenario} / {result.route}: {result.first_error}")


async def run(requests: int, workers: int) -> int:
    async with bench_database() as database_url:
        admin_password = secrets.token_urlsafe(16)
        identity_settings = IdentitySettings(
            database_url=database_url,
            run_workers=False,
            admin_password=admin_password,
            log_level="WARNING",
            log_json=False,
        )
        identity_app = create_identity_app(identity_settings)
        licensing_app = create_licensing_app(
            LicensingSettings(
                database_url=database_url,
                run_workers=False,
                internal_secret=identity_settings.internal_secret,
                log_level="WARNING",
                log_json=False,
            )
        )
        async with serve(identity_app) as identity_url, serve(licensing_app) as licensing_url:
            gateway_settings = GatewaySettings(
                identity_url=identity_url,
                licensing_url=licensing_url,
                internal_secret=identity_settings.internal_secret,
                anon_rate_per_minute=UNLIMITED_RATE,
                api_key_rate_per_minute=UNLIMITED_RATE,
                user_rate_per_minute=UNLIMITED_RATE,
                log_level="WARNING",
                log_json=False,
            )
            async with serve(create_gateway_app(gateway_settings)) as gateway_url:
                password = secrets.token_urlsafe(16)
                email, principal = await create_contact(identity_app, password)
                limits = httpx.Limits(max_connections=workers, max_keepalive_connections=workers)
                async with httpx.AsyncClient(limits=limits, timeout=60) as client:
                    signed_in = await client.post(
                        f"{gateway_url}/api/v1/auth/login",
                        json={"login": email, "password": password},
                    )
                    signed_in.raise_for_status()
                    contact = Contact(email, password, signed_in.json()["access_token"], principal)
                    secret = identity_settings.internal_secret
                    license_ = await import_license(client, licensing_url, secret)
                    results = []
                    for scenario in scenarios(
                        gateway_url, identity_url, licensing_url, contact, license_, secret
                    ):
                        for route, send in (
                            ("direct", scenario.direct),
                            ("gateway", scenario.through_gateway),
                        ):
                            print(f"running {scenario.name} ({route})...", flush=True)
                            results.append(
                                await measure(client, scenario.name, route, send, requests, workers)
                            )
    report(results, requests, workers)
    return 1 if any(result.errors for result in results) else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=300, help="per scenario and route")
    parser.add_argument("--concurrency", type=int, default=10)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        return asyncio.run(run(args.requests, args.concurrency))
    return uvloop.run(run(args.requests, args.concurrency))


if __name__ == "__main__":
    sys.exit(main())
