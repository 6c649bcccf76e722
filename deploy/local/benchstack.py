"""The stack `make bench` measures: every service, the gateway, the anchors and nginx, each a
process of its own on free loopback ports, with a database and bus namespace of their own.

Everything is started as `make run` starts it (uvicorn, one process per service, no access
log, the outbox relay and consumers running) and removed at the end: processes, database,
exchanges and queues. Logs go to files in the run's folder under .run/, shown when a start
fails and kept when a request failed. dongle's and helpdesk's own benches start just their
service the same way (`bench_stack(services=["dongle"], gateway=False, anchor=False)`).
"""

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy.engine import make_url

from deploy.local.run import ROOT, _die_with_parent, uvicorn_args
from shared.bus.topology import delete_bus_names
from shared.config import SERVICES, PlatformSettings
from shared.db import drop_database
from shared.testing.servers import free_port

# High enough never to refuse a bench request: the limits themselves are tested, not measured.
UNLIMITED_RATE = str(10**9)
# For a bench that reads its service's figures, not its logs.
QUIET = {"KABINET_LOG_LEVEL": "ERROR"}
START_TIMEOUT = 90.0

NGINX_CONF = """
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {folder}/nginx-body;
  proxy_temp_path {folder}/nginx-proxy;
{servers}
}}
"""
# As the gateway does: keep-alive connections to the service, the caller's address passed on.
NGINX_SERVER = """
  upstream {name} {{ server {upstream}; keepalive 64; }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://{name};
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
"""


@dataclass
class Stack:
    """Where everything of one bench run lives."""

    folder: Path
    database_url: str
    namespace: str
    env: dict[str, str]
    admin_password: str
    internal_secret: str
    urls: dict[str, str] = field(default_factory=dict)
    # Kept (with every process's log) when something went wrong, to read afterwards.
    keep_folder: bool = False
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.folder / f"{name}.log").open("wb")
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and nginx
            args,
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
        )
        self.processes[name] = process
        return process

    @property
    def settings(self) -> PlatformSettings:
        """What the processes of the stack run with: its database, namespace and secret."""
        return PlatformSettings().model_copy(
            update={
                "database_url": self.database_url,
                "bus_namespace": self.namespace,
                "internal_secret": self.internal_secret,
            }
        )

    def spawn_uvicorn(self, name: str, factory: str) -> None:
        port = free_port()
        self.spawn(name, [sys.executable, *uvicorn_args(factory, "127.0.0.1", port)])
        self.urls[name] = f"http://127.0.0.1:{port}"

    def log_tail(self, name: str) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def cpu_seconds(self) -> dict[str, float]:
        """CPU time (user + system) each process has used so far (nginx with its worker)."""
        tick = os.sysconf("SC_CLK_TCK")
        figures: dict[str, float] = {}
        for name, process in self.processes.items():
            pids = [process.pid, *_children(process.pid)] if name == "nginx" else [process.pid]
            figures[name] = sum(_cpu_ticks(pid) for pid in pids) / tick
        return figures

    def memory(self) -> dict[str, tuple[int, int]]:
        """Each process's resident memory now and at its peak, in kB (nginx with its worker)."""
        figures: dict[str, tuple[int, int]] = {}
        for name, process in self.processes.items():
            pids = [process.pid, *_children(process.pid)] if name == "nginx" else [process.pid]
            now = peak = 0
            for pid in pids:
                status = _proc_status(pid)
                now += status.get("VmRSS", 0)
                peak += status.get("VmHWM", 0)
            figures[name] = (now, peak)
        return figures


def _proc_status(pid: int) -> dict[str, int]:
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except OSError:
        return {}
    return {
        key: int(value.split()[0])
        for key, _, value in (line.partition(":") for line in lines)
        if key in ("VmRSS", "VmHWM")
    }


def _cpu_ticks(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = stat.rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    with contextlib.suppress(OSError):
        return [int(child) for child in path.read_text().split()]
    return []


@contextlib.asynccontextmanager
async def bench_stack(
    with_nginx: bool = False,
    *,
    services: Sequence[str] = SERVICES,
    gateway: bool = True,
    anchor: bool = True,
    env: Mapping[str, str] | None = None,
) -> AsyncIterator[Stack]:
    """Migrates a fresh database, starts `services` (and the gateway, the anchor app, nginx
    when asked) with `env` added to their environment, and takes it all down afterwards."""
    base = PlatformSettings()
    run_id = secrets.token_hex(4)
    database_url = (
        make_url(base.database_url)
        .set(database=f"kabinet_bench_{run_id}")
        .render_as_string(hide_password=False)
    )
    folder = _new_folder()
    stack = Stack(
        folder=folder,
        database_url=database_url,
        namespace=f"bench-{run_id}.",
        env={},
        admin_password=secrets.token_urlsafe(16),
        internal_secret=secrets.token_urlsafe(32),
    )
    stack.env = {**_environment(stack), **(env or {})}
    try:
        await _migrate(stack)
        await _start(stack, services, gateway=gateway, anchor=anchor, with_nginx=with_nginx)
        yield stack
    finally:
        _stop(stack)
        await drop_database(database_url)
        await _delete_bus_names(PlatformSettings(bus_namespace=stack.namespace))
        if stack.keep_folder:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def _new_folder() -> Path:
    runs = ROOT / ".run"
    runs.mkdir(exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-", dir=runs))
    # nginx's worker runs as an unprivileged user and writes its temporary files here.
    folder.chmod(0o755)
    return folder


def _environment(stack: Stack) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("KABINET_")}
    env.update(
        {
            "KABINET_DATABASE_URL": stack.database_url,
            "KABINET_AMQP_URL": PlatformSettings().amqp_url,
            "KABINET_BUS_NAMESPACE": stack.namespace,
            "KABINET_INTERNAL_SECRET": stack.internal_secret,
            "KABINET_ADMIN_PASSWORD": stack.admin_password,
            "KABINET_SMTP_PORT": str(free_port()),
            # Files the services keep stay in the run's folder and go with it.
            "KABINET_ATTACHMENTS_DIR": str(stack.folder / "attachments"),
            "KABINET_DOCUMENTS_DIR": str(stack.folder / "documents"),
            # The PostgreSQL server is shared with other work: the default ten connections each.
            "KABINET_DB_POOL_SIZE": "10",
            "KABINET_ANON_RATE_PER_MINUTE": UNLIMITED_RATE,
            "KABINET_API_KEY_RATE_PER_MINUTE": UNLIMITED_RATE,
            "KABINET_USER_RATE_PER_MINUTE": UNLIMITED_RATE,
            # Every sign-in in flight counts as a try until its password checks out, so 16 at
            # once for one account would lock it after five.
            "KABINET_LOCKOUT_FAILURES": UNLIMITED_RATE,
        }
    )
    return env


async def _migrate(stack: Stack) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "shared.cli",
        "migrate",
        cwd=ROOT,
        env=stack.env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"migration failed:\n{output.decode(errors='replace')[-2000:]}")


async def _start(
    stack: Stack, services: Sequence[str], *, gateway: bool, anchor: bool, with_nginx: bool
) -> None:
    smtp_port = stack.env["KABINET_SMTP_PORT"]
    stack.spawn(
        "smtp",
        [
            sys.executable,
            "-m",
            "shared.devsmtp",
            "--port",
            smtp_port,
            "--folder",
            str(stack.folder / "mail"),
        ],
    )
    for service in services:
        stack.spawn_uvicorn(service, f"services.{service}.app:create_app")
        stack.env[f"KABINET_{service.upper()}_URL"] = stack.urls[service]
    if gateway:
        stack.spawn_uvicorn("gateway", "gateway.app:create_app")
    ready = [*services, "gateway"] if gateway else list(services)
    probes = {name: f"{stack.urls[name]}/readyz" for name in ready}
    if anchor:
        stack.spawn_uvicorn("anchor", "deploy.local.benchanchors:create_app")
        probes["anchor"] = f"{stack.urls['anchor']}/healthz"
    if with_nginx:
        _start_nginx(stack, services)
        probes["nginx"] = f"{stack.urls[f'nginx:{services[0]}']}/healthz"
    await _wait_ready(stack, probes)


def _start_nginx(stack: Stack, services: Sequence[str]) -> None:
    servers = []
    for service in services:
        port = free_port()
        upstream = stack.urls[service].removeprefix("http://")
        servers.append(NGINX_SERVER.format(name=service, upstream=upstream, port=port))
        stack.urls[f"nginx:{service}"] = f"http://127.0.0.1:{port}"
    for temporary in ("nginx-body", "nginx-proxy"):
        (stack.folder / temporary).mkdir(mode=0o777)
        (stack.folder / temporary).chmod(0o777)
    config = stack.folder / "nginx.conf"
    config.write_text(NGINX_CONF.format(folder=stack.folder, servers="".join(servers)))
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    stack.spawn("nginx", [nginx, "-p", str(stack.folder), "-c", str(config), "-g", "daemon off;"])


async def _wait_ready(stack: Stack, probes: dict[str, str]) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    waiting = dict(probes)
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        while waiting:
            for name, process in stack.processes.items():
                if process.poll() is not None:
                    raise RuntimeError(f"{name} stopped while starting:\n{stack.log_tail(name)}")
            for name, url in list(waiting.items()):
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(url)).status_code == 200:
                        del waiting[name]
            if time.monotonic() > deadline:
                tails = "\n".join(f"--- {name}\n{stack.log_tail(name)}" for name in waiting)
                raise RuntimeError(f"not ready after {START_TIMEOUT:.0f}s:\n{tails}")
            await asyncio.sleep(0.2)


def _stop(stack: Stack) -> None:
    for process in stack.processes.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 15
    for process in stack.processes.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def _delete_bus_names(settings: PlatformSettings) -> None:
    with contextlib.suppress(Exception):
        await delete_bus_names(settings)
