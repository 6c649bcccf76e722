"""`make bench`: the stack under load from outside, beside anchors measured in the same run.

The services, the gateway, a bare FastAPI anchor app and nginx run as processes of their own
(deploy.local.benchstack) on a fresh database and bus namespace; the load comes from wrk, or
from a separate Python process when wrk is missing (deploy.local.loadgen). Every scenario of
`SCENARIOS` runs straight to its service, through nginx proxying that service, and through the
gateway: p50/p99 at one connection, requests/s at `--connections`. The ratios the platform
tracks (docs/benchmarks.md) are printed beside the figures, then each process's memory.

Over 400 lines on purpose: whoever adds a scenario finds the table, the steps that prepare its
data and the run that measures it in one place. To measure another endpoint, add a `Scenario`
to `SCENARIOS`; `prepare` creates what it needs
(through the gateway, as the admin in `world.admin`) and may leave values for its path.

    python -m deploy.local.bench [--seconds 4] [--rounds 4] [--only products,login] [--hold]
"""

import argparse
import asyncio
import contextlib
import functools
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from deploy.local.benchstack import Stack, bench_stack
from deploy.local.benchworld import Auth, World, build_world, signed_caller
from deploy.local.loadgen import LoadRequest, LoadResult, run_load, wrk_path

Route = Literal["direct", "nginx", "gateway"]
ROUTES: tuple[Route, ...] = ("direct", "nginx", "gateway")
# The bare apps of deploy.local.benchanchors: a constant, and one page of the catalogue.
Anchor = Literal["healthz", "select"]
ANCHOR_PATHS: dict[Anchor, str] = {"healthz": "/healthz", "select": "/select"}
ANCHOR_NAMES: dict[Anchor, str] = {
    "healthz": "bare FastAPI /healthz",
    "select": "bare FastAPI + one SELECT",
}

# The targets of spec 50-platform "Performance", printed beside the measured ratios.
GATEWAY_VS_NGINX_TARGET = 0.8
GATEWAY_ADDED_P50_TARGET_MS = 0.7
ANCHOR_TARGETS: dict[Anchor, float] = {"healthz": 0.8, "select": 0.7}


@dataclass(frozen=True)
class Scenario:
    """One request, repeated: `service` owns `path` (spelled as the gateway routes it)."""

    name: str
    service: str
    path: str
    method: str = "GET"
    auth: Auth = "anonymous"
    # The JSON body, built once the world exists (it may need a login or an id).
    body: Callable[[World], Any] | None = None
    headers: Mapping[str, str] = field(default_factory=dict)
    routes: tuple[Route, ...] = ROUTES
    # The bare app this scenario's direct figure is compared with, if any.
    anchor: Anchor | None = None
    # Length of each figure and the turns it is taken in, when the defaults do not suit (a
    # request that takes a second needs longer turns to be counted at all).
    seconds: float | None = None
    rounds: int | None = None
    prepare: Callable[[World], Awaitable[None]] | None = None


def _contact_credentials(world: World) -> dict[str, str]:
    return {"login": world.contact.login, "password": world.contact.password}


async def import_license(world: World) -> None:
    """A contract with one key-bound license, imported through the gateway as the admin: what
    the validation scenario asks about, as installed software would."""
    gateway = world.stack.urls["gateway"]
    key_serial = "3-1234567"
    response = await world.client.post(
        f"{gateway}/api/v1/contracts",
        headers=world.admin.credential,
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
    )
    response.raise_for_status()
    world.values["activation_code"] = response.json()["licenses"][0]["activation_code"]
    world.values["key_serial"] = key_serial


def _validation(world: World) -> dict[str, str]:
    return {
        "activation_code": world.values["activation_code"],
        "key_serial": world.values["key_serial"],
    }


SCENARIOS: list[Scenario] = [
    Scenario("service /healthz", "licensing", "/healthz", routes=("direct",), anchor="healthz"),
    Scenario("products", "licensing", "/api/v1/products", anchor="select"),
    Scenario("calendar status", "helpdesk", "/api/v1/calendar/status"),
    Scenario(
        "license validate",
        "licensing",
        "/api/v1/licenses/validate",
        "POST",
        body=_validation,
        prepare=import_license,
    ),
    Scenario("GET /me", "identity", "/api/v1/me", auth="contact"),
    # Hashing the password makes a sign-in take most of a second, on purpose.
    Scenario(
        "login",
        "identity",
        "/api/v1/auth/login",
        "POST",
        body=_contact_credentials,
        seconds=6,
        rounds=1,
    ),
]


def load_request(world: World, scenario: Scenario, route: Route) -> LoadRequest:
    path = scenario.path.format_map(world.values)
    stack = world.stack
    base = {
        "direct": stack.urls[scenario.service],
        "nginx": stack.urls.get(f"nginx:{scenario.service}", ""),
        "gateway": stack.urls["gateway"],
    }[route]
    headers = dict(scenario.headers)
    account = world.account(scenario.auth)
    fresh = None
    if account is not None and route == "gateway":
        headers.update(account.credential)
    elif account is not None:
        # Past the gateway the caller header is sealed for each call and good once, as the
        # gateway makes it.
        principal, secret = account.principal, stack.internal_secret
        sealed_for = (scenario.service, scenario.method, path.partition("?")[0])
        fresh = functools.partial(signed_caller, principal, secret, *sealed_for)
    body = None
    if scenario.body is not None:
        body = json.dumps(scenario.body(world)).encode()
        headers["Content-Type"] = "application/json"
    return LoadRequest(scenario.method, base + path, headers, body, fresh)


@dataclass
class Figures:
    """One scenario on one route: latency at one connection, throughput at many, each taken
    in slices (`single`, `loaded` merge them)."""

    scenario: str
    route: str
    request: LoadRequest
    singles: list[LoadResult] = field(default_factory=list)
    loads: list[LoadResult] = field(default_factory=list)
    failure: str | None = None
    # CPU seconds each process spent during the loaded slices: steadier than requests/s
    # when the machine is shared.
    cpu: dict[str, float] = field(default_factory=dict)
    # The process that answers on this route, and the service behind it when that is another.
    front: str = ""
    service: str = ""

    def cpu_ms_per_request(self, process: str) -> float | None:
        loaded = self.loaded
        if not loaded or not loaded.requests or process not in self.cpu:
            return None
        return self.cpu[process] * 1000 / loaded.requests

    @property
    def single(self) -> LoadResult | None:
        return merge(self.singles)

    @property
    def loaded(self) -> LoadResult | None:
        return merge(self.loads)

    @property
    def measured(self) -> bool:
        return bool(self.singles and self.loads)

    @property
    def errors(self) -> int:
        return sum(result.errors for result in (*self.singles, *self.loads))


def merge(slices: list[LoadResult]) -> LoadResult | None:
    """Slices as one figure: requests and time added up; p50 and p99 the median of the slices',
    so that one slice hit by other load on the machine does not move them."""
    if not slices:
        return None
    counted = [part for part in slices if part.requests] or slices
    return LoadResult(
        requests=sum(part.requests for part in slices),
        seconds=sum(part.seconds for part in slices),
        p50_ms=statistics.median(part.p50_ms for part in counted),
        p99_ms=statistics.median(part.p99_ms for part in counted),
        errors=sum(part.errors for part in slices),
        error_kinds="; ".join(part.error_kinds for part in slices if part.errors),
    )


async def check(client: httpx.AsyncClient, figures: Figures) -> None:
    """One request first, so that a broken scenario says why instead of counting errors."""
    request = figures.request
    try:
        answer = await client.request(
            request.method, request.url, headers=request.one(), content=request.body
        )
    except httpx.HTTPError as exc:
        figures.failure = repr(exc)
        return
    if answer.status_code >= 400:
        figures.failure = f"{answer.status_code} {answer.text[:300]}"


async def measure_group(
    client: httpx.AsyncClient,
    stack: Stack,
    group: list[Figures],
    seconds: float,
    rounds: int,
    connections: int,
) -> None:
    """The routes of one scenario, measured in turns: its figures in `rounds` slices, the
    routes alternating, so that a burst of other load on the machine hits them all alike."""
    for figures in group:
        await check(client, figures)
    live = [figures for figures in group if figures.failure is None]
    slice_seconds = max(1, round(seconds / rounds))

    async def load(figures: Figures, connections: int, seconds: int) -> LoadResult:
        result = await run_load(figures.request, connections, seconds)
        # Requests still queued when the load stopped (a slow login) must not slow the next
        # slice: one more answer means the service has caught up.
        await check(client, figures)
        return result

    try:
        for figures in live:
            print(f"  {figures.scenario} ({figures.route})", flush=True)
            await load(figures, connections, 1)  # warm-up: pools, caches
        for _ in range(rounds):
            for figures in live:
                figures.singles.append(await load(figures, 1, slice_seconds))
        for _ in range(rounds):
            for figures in live:
                before = stack.cpu_seconds()
                figures.loads.append(await run_load(figures.request, connections, slice_seconds))
                after = stack.cpu_seconds()
                for name, used in after.items():
                    figures.cpu[name] = figures.cpu.get(name, 0.0) + used - before.get(name, 0.0)
                await check(client, figures)
    except RuntimeError as exc:
        for figures in live:
            figures.failure = figures.failure or str(exc)


async def run(
    scenarios: list[Scenario], seconds: float, connections: int, rounds: int, hold: bool = False
) -> list[Figures]:
    with_nginx = shutil.which("nginx") is not None
    results: list[Figures] = []
    print("starting the stack...", flush=True)
    started = time.monotonic()
    async with (
        bench_stack(with_nginx) as stack,
        httpx.AsyncClient(timeout=30, trust_env=False) as client,
    ):
        world = await build_world(stack, client)
        if hold:
            # The chosen scenarios' data is made too, so their requests can be sent by hand.
            for scenario in scenarios:
                if scenario.prepare is not None:
                    await scenario.prepare(world)
            for name, value in world.values.items():
                print(f"  {name} = {value}")
            await hold_for_profiling(stack)
            return results
        print(f"started in {time.monotonic() - started:.0f}s; measuring:", flush=True)
        for scenario in scenarios:
            if scenario.prepare is not None:
                await scenario.prepare(world)
            group = [
                Figures(
                    scenario.name,
                    route,
                    load_request(world, scenario, route),
                    front=scenario.service if route == "direct" else route,
                    service="" if route == "direct" else scenario.service,
                )
                for route in scenario.routes
                if route != "nginx" or with_nginx
            ]
            if scenario.anchor is not None:
                path = ANCHOR_PATHS[scenario.anchor]
                anchor = LoadRequest("GET", stack.urls["anchor"] + path)
                group.insert(0, Figures(scenario.name, "anchor", anchor, front="anchor"))
            await measure_group(
                client,
                stack,
                group,
                scenario.seconds or seconds,
                scenario.rounds or rounds,
                connections,
            )
            results.extend(group)
        memory = stack.memory()
        stack.keep_folder = any(figures.failure or figures.errors for figures in results)
    report(results, scenarios, memory, connections, rounds)
    return results


async def hold_for_profiling(stack: Stack) -> None:
    """Keeps the stack up until Ctrl-C, saying where each process is, for py-spy and wrk."""
    print("\nthe stack is up; Ctrl-C stops it. Processes:")
    for name, process in stack.processes.items():
        url = stack.urls.get(name, "")
        print(f"  {name:<10} pid {process.pid:<8} {url}")
    for name, url in stack.urls.items():
        if name.startswith("nginx:"):
            print(f"  {name:<18} {url}")
    print(
        "e.g. wrk -c16 -d30s <gateway>/api/v1/products & py-spy record -p <gateway pid> -d 20",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()


def report(
    results: list[Figures],
    scenarios: list[Scenario],
    memory: dict[str, tuple[int, int]],
    connections: int,
    rounds: int,
) -> None:
    generator = "wrk" if wrk_path() else "a separate Python process (httpx; install wrk)"
    print(f"\nload from {generator}; each figure in {rounds} turns, the routes alternating")
    print("anchor: the bare FastAPI app the scenario's direct figure is compared with\n")
    header = (
        f"{'scenario':<18} {'route':<8} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'req/s':>8} {'p99 ms':>7} {'front':>6} {'service':>7} {'errors':>6}"
    )
    print(
        f"{'':<27}{'one connection':>15} {f'{connections} connections':>24}{'CPU ms/request':>16}"
    )
    print(header)
    print("-" * len(header))
    for figures in results:
        if figures.single is None or figures.loaded is None:
            print(f"{figures.scenario:<18} {figures.route:<8} FAILED: {figures.failure}")
            continue
        single, loaded = figures.single, figures.loaded
        print(
            f"{figures.scenario:<18} {figures.route:<8} {_ms(single, single.p50_ms)} "
            f"{_ms(single, single.p99_ms)} {loaded.per_second:>8.1f} "
            f"{_ms(loaded, loaded.p99_ms)} {_cpu(figures, figures.front):>6} "
            f"{_cpu(figures, figures.service):>7} {figures.errors:>6}"
        )
    print("\nratios (targets of docs/benchmarks.md in brackets):")
    for line in ratios(results, scenarios):
        print(f"  {line}")
    print("\nmemory (RSS now / peak, MB):")
    for name, (now, peak) in memory.items():
        print(f"  {name:<10} {now / 1024:>6.0f} / {peak / 1024:.0f}")
    for figures in results:
        for result in (figures.single, figures.loaded):
            if result is not None and result.errors:
                print(f"errors in {figures.scenario} ({figures.route}): {result.error_kinds}")


def _cpu(figures: Figures, process: str) -> str:
    if not process:
        return ""
    used = figures.cpu_ms_per_request(process)
    return f"{used:.2f}" if used is not None else "n/a"


def _ms(result: LoadResult, value: float) -> str:
    return f"{value:>7.2f}" if result.requests else f"{'n/a':>7}"


def ratios(results: list[Figures], scenarios: list[Scenario]) -> list[str]:
    """The tracked ratios, each with its target, from whatever was measured."""
    measured = {(f.scenario, f.route): f for f in results if f.measured}
    lines = []
    for scenario in scenarios:

        def figures(route: str, name: str = scenario.name) -> Figures | None:
            return measured.get((name, route))

        direct, nginx, gateway = figures("direct"), figures("nginx"), figures("gateway")
        anchor = figures("anchor")
        if direct and anchor and scenario.anchor:
            lines.append(
                f"{scenario.name}: direct = {_ratio(direct, anchor)} "
                f"{ANCHOR_NAMES[scenario.anchor]} [≥ {ANCHOR_TARGETS[scenario.anchor]}]"
            )
        if gateway and nginx:
            lines.append(
                f"{scenario.name}: gateway = {_ratio(gateway, nginx)} nginx's requests/s "
                f"[≥ {GATEWAY_VS_NGINX_TARGET}]; CPU per request: gateway "
                f"{_cpu(gateway, 'gateway')} ms, nginx {_cpu(nginx, 'nginx')} ms"
            )
        if direct and (gateway or nginx):
            added = [
                f"{route} {_added(proxied, direct)}"
                for route, proxied in (("gateway", gateway), ("nginx", nginx))
                if proxied
            ]
            lines.append(
                f"{scenario.name}: p50 added at one connection: {', '.join(added)} "
                f"[gateway ≤ {GATEWAY_ADDED_P50_TARGET_MS} ms]"
            )
    return lines


def _ratio(measured: Figures, reference: Figures) -> str:
    assert measured.loaded is not None and reference.loaded is not None
    if not reference.loaded.per_second:
        return "n/a"
    return f"{measured.loaded.per_second / reference.loaded.per_second:.2f}×"


def _added(proxied: Figures, direct: Figures) -> str:
    assert proxied.single is not None and direct.single is not None
    return f"{proxied.single.p50_ms - direct.single.p50_ms:+.2f} ms"


def ensure_tools(install: bool) -> None:
    """wrk and nginx: installed with apt-get when missing (as root), else a clear fallback."""
    missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if missing and install and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"installing {' and '.join(missing)} (apt-get install wrk nginx-light)...")
        command = ["apt-get", "install", "-y", "-q", "wrk", "nginx-light"]
        if _quietly(command) != 0:
            _quietly(["apt-get", "update", "-q"])
            _quietly(command)
        missing = [tool for tool in ("wrk", "nginx") if shutil.which(tool) is None]
    if "wrk" in missing:
        print(
            "wrk is not installed (apt-get install wrk): the load comes from a separate "
            "Python process instead, which tops out lower than wrk"
        )
    if "nginx" in missing:
        print("nginx is not installed (apt-get install nginx-light): no proxy anchor this run")


def _quietly(command: list[str]) -> int:
    return subprocess.run(  # noqa: S603 - apt-get with fixed arguments
        command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ).returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=4, help="per figure (two per route)")
    parser.add_argument("--rounds", type=int, default=4, help="turns each figure is taken in")
    parser.add_argument("--connections", type=int, default=16, help="for the throughput figure")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--no-install", action="store_true", help="never run apt-get")
    parser.add_argument(
        "--hold", action="store_true", help="start the stack and keep it up for profiling"
    )
    args = parser.parse_args()
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    unknown = only - {scenario.name for scenario in SCENARIOS}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    chosen = [scenario for scenario in SCENARIOS if not only or scenario.name in only]
    ensure_tools(install=not args.no_install)
    results = asyncio.run(run(chosen, args.seconds, args.connections, args.rounds, args.hold))
    failed = [f for f in results if f.failure or f.errors]
    with contextlib.suppress(BrokenPipeError):
        for figures in failed:
            if figures.failure:
                print(f"{figures.scenario} ({figures.route}) failed: {figures.failure}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
