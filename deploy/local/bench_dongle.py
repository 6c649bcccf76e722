"""`make bench`, dongle's part: the monthly prolongation run over 100,000 protected keys, and
the latency from `licensing.license.lapsed` to `dongle.protection.cancelled` at 200 events/s.

dongle runs in a process of its own (uvicorn) on a database and bus namespace of its own,
created here and removed at the end; this process seeds the database with set-based SQL,
publishes the events and listens for dongle's answers on a probe queue. Printed: the run's
seconds and files, the service's peak memory before and after it (VmHWM, to show the run is
streamed), and the event round trip's p50/p99.

    python -m deploy.local.bench_dongle [--keys 100000] [--events 2000] [--rate 200]
"""

import argparse
import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aio_pika
import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from services.dongle.update_files.service import month_of
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.bus.envelope import Envelope
from shared.bus.topology import Topology, delete_bus_names
from shared.cli import declare_bus
from shared.config import SERVICES, PlatformSettings
from shared.db import drop_database, ensure_database
from shared.events.licensing import LicenseLapsed
from shared.migrations import upgrade
from shared.testing.servers import free_port

ROOT = Path(__file__).resolve().parents[2]

SEED = """
WITH keys AS (
    INSERT INTO dongle.protection_keys
        (id, serial, kind, organization_id, status, maintenance_ends_at, created_at,
         update_sequence)
    SELECT gen_random_uuid(), :prefix || lpad(n::text, 7, '0'), 'codemeter', gen_random_uuid(),
           'active', now() + interval '300 days', now(), 0
    FROM generate_series(1, :count) AS n
    RETURNING id, organization_id, serial
), licenses AS (
    INSERT INTO dongle.licenses
        (id, key_id, organization_id, product_code, status, expires_at, applied_at)
    SELECT gen_random_uuid(), id, organization_id, 'CAD-PRO', 'active', DATE '2030-01-01',
           now() - interval '1 day'
    FROM keys
    RETURNING id, key_id
)
INSERT INTO dongle.protection_subscriptions
    (id, key_id, organization_id, status, created_at, activated_at)
SELECT gen_random_uuid(), keys.id, keys.organization_id, 'active', now(), now()
FROM keys
"""


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _database_cpu(database_url: str) -> float:
    """CPU time used so far by the PostgreSQL backends serving the bench's database (the
    server runs on this machine); a backend that has ended is not counted."""
    engine = create_async_engine(database_url)
    async with engine.connect() as conn:
        pids = (
            await conn.scalars(
                text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
            )
        ).all()
    await engine.dispose()
    total = 0.0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += _cpu_seconds(pid)
    return total


class CpuMeter:
    """CPU seconds of dongle's process and of its database backends over a stretch: on a
    shared machine they move far less than the wall time."""

    def __init__(self, pid: int, database_url: str) -> None:
        self.pid, self.database_url = pid, database_url
        self.service = self.database = 0.0

    async def __aenter__(self) -> "CpuMeter":
        self._service = _cpu_seconds(self.pid)
        self._database = await _database_cpu(self.database_url)
        self._load = os.getloadavg()[0]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.service = _cpu_seconds(self.pid) - self._service
        self.database = await _database_cpu(self.database_url) - self._database
        self.load = max(self._load, os.getloadavg()[0])

    def __str__(self) -> str:
        return (
            f"CPU: dongle {self.service:.1f} s, its PostgreSQL backends {self.database:.1f} s; "
            f"load average {self.load:.1f}"
        )


def _peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def _wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if process.poll() is not None:
                raise RuntimeError("dongle stopped before it was ready")
            try:
                if (await client.get(f"{url}/readyz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError("dongle did not become ready")


async def lapse_latency(
    settings: PlatformSettings, database_url: str, events: int, rate: float, pid: int
) -> list[float]:
    """Publishes `events` lapses at `rate`/s, each the last license of a protected key, and
    returns each one's time until dongle's cancellation arrived; prints the CPU time dongle
    and its database used for them."""
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(text(SEED), {"prefix": "7-", "count": events})
        rows = (
            await conn.execute(
                text(
                    "SELECT l.id, l.organization_id, k.serial FROM dongle.licenses l "
                    "JOIN dongle.protection_keys k ON k.id = l.key_id WHERE k.serial LIKE '7-%'"
                )
            )
        ).all()
    await engine.dispose()
    topology = Topology.of("bench", settings)
    connection = await aio_pika.connect(settings.amqp_url)
    sent: dict[str, float] = {}
    latencies: list[float] = []
    done = asyncio.Event()
    async with connection:
        channel = await connection.channel(publisher_confirms=False)
        exchange = await channel.get_exchange(topology.exchange)
        probe = await channel.declare_queue(exclusive=True)
        await probe.bind(exchange, "dongle.protection.cancelled")

        async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            serial = json.loads(message.body)["data"]["key_serial"]
            if serial in sent:
                latencies.append(time.perf_counter() - sent[serial])
                if len(latencies) == len(rows):
                    done.set()
            await message.ack()

        await probe.consume(on_message)
        meter = CpuMeter(pid, database_url)
        await meter.__aenter__()
        start = time.perf_counter()
        for index, (license_id, organization_id, serial) in enumerate(rows):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            envelope = Envelope.wrap(
                LicenseLapsed(
                    license_id=license_id,
                    organization_id=organization_id,
                    product_code="CAD-PRO",
                    key_serial=serial,
                    reason="expired",
                    status="expired",
                    expires_at=None,
                ),
                producer="licensing",
                occurred_at=datetime.now(UTC),
            )
            sent[serial] = time.perf_counter()
            await exchange.publish(
                aio_pika.Message(
                    body=json.dumps(envelope.model_dump(mode="json")).encode(),
                    content_type="application/json",
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=str(envelope.id),
                    type=envelope.type,
                ),
                routing_key=envelope.type,
            )
        try:
            await asyncio.wait_for(done.wait(), timeout=120)
        except TimeoutError:
            print(f"only {len(latencies)} of {len(rows)} cancellations within 120 s", flush=True)
        await meter.__aexit__()
    per_event = 1000 / max(1, len(latencies))
    print(
        f"{meter} ({meter.service * per_event:.2f} + {meter.database * per_event:.2f} ms "
        "per event)",
        flush=True,
    )
    return latencies


async def monthly_run(
    settings: PlatformSettings, database_url: str, url: str, keys: int, pid: int
) -> None:
    engine = create_async_engine(database_url)
    started = time.perf_counter()
    async with engine.begin() as conn:
        await conn.execute(text(SEED), {"prefix": "9-", "count": keys})
    await engine.dispose()
    print(f"seeded {keys} protected keys in {time.perf_counter() - started:.1f} s", flush=True)
    admin = Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"])
    month = month_of(datetime.now(UTC) + timedelta(days=0))
    peak_before, rss_before = _peak_kib(pid), _rss_kib(pid)
    path = "/api/v1/admin/prolongation-runs"

    def as_admin() -> dict[str, str]:
        # The gateway's header, sealed for this one call.
        header = sign_principal(
            admin, settings.internal_secret, service="dongle", method="POST", path=path
        )
        return {PRINCIPAL_HEADER: header}

    async with httpx.AsyncClient(timeout=600) as client:
        async with CpuMeter(pid, database_url) as meter:
            started = time.perf_counter()
            response = await client.post(f"{url}{path}", json={"month": month}, headers=as_admin())
            seconds = time.perf_counter() - started
        response.raise_for_status()
        again_started = time.perf_counter()
        again = await client.post(f"{url}{path}", json={"month": month}, headers=as_admin())
        again_seconds = time.perf_counter() - again_started
    body = response.json()
    print(
        f"monthly run {month}: {body['generated']} update files in {seconds:.1f} s "
        f"({body['generated'] / seconds:,.0f}/s; target 100,000 in <= 20 s); "
        f"run again: {again.json()['generated']} new in {again_seconds:.1f} s",
        flush=True,
    )
    print(f"monthly run {meter}", flush=True)
    print(
        f"dongle memory: peak {peak_before / 1024:.0f} MiB before the run "
        f"(RSS {rss_before / 1024:.0f} MiB), peak {_peak_kib(pid) / 1024:.0f} MiB after",
        flush=True,
    )


async def main_async(keys: int, events: int, rate: float) -> None:
    base = PlatformSettings()
    database_url = (
        make_url(base.database_url)
        .set(database=f"kabinet_bench_dongle_{uuid.uuid4().hex[:8]}")
        .render_as_string(hide_password=False)
    )
    namespace = f"bench-dongle-{uuid.uuid4().hex[:8]}."
    settings = base.model_copy(update={"database_url": database_url, "bus_namespace": namespace})
    await ensure_database(database_url)
    process: subprocess.Popen[bytes] | None = None
    try:
        for service in SERVICES:
            await asyncio.to_thread(upgrade, service, database_url)
        # Every consumer's queue exists, as after `make migrate`: dongle's events are routed.
        await declare_bus(settings, list(SERVICES))
        port = free_port()
        env = {
            **os.environ,
            "KABINET_DATABASE_URL": database_url,
            "KABINET_BUS_NAMESPACE": namespace,
            "KABINET_LOG_LEVEL": "ERROR",
        }
        process = subprocess.Popen(  # noqa: S603, ASYNC220 - started once, before measuring
            [
                sys.executable,
                "-m",
                "uvicorn",
                "services.dongle.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--no-access-log",
            ],
            cwd=ROOT,
            env=env,
        )
        url = f"http://127.0.0.1:{port}"
        await _wait_ready(url, process)
        await asyncio.sleep(2)  # the consumer declares its queue
        latencies = await lapse_latency(settings, database_url, events, rate, process.pid) or [
            float("nan")
        ]
        ordered = sorted(latencies)
        p99 = ordered[max(0, round(0.99 * len(ordered)) - 1)]
        print(
            f"licensing.license.lapsed -> dongle.protection.cancelled at {rate:.0f} events/s: "
            f"{len(latencies)} events, p50 {statistics.median(latencies) * 1000:.1f} ms, "
            f"p99 {p99 * 1000:.1f} ms (target p99 <= 100 ms)",
            flush=True,
        )
        await monthly_run(settings, database_url, url, keys, process.pid)
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=30)
        await delete_bus_names(settings)
        await drop_database(database_url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    args = parser.parse_args()
    asyncio.run(main_async(args.keys, args.events, args.rate))
    return 0


if __name__ == "__main__":
    sys.exit(main())
