"""`make run`: migrate, start the four services and the gateway; Ctrl-C stops all.

Mail goes to whatever answers at KABINET_SMTP_HOST:PORT; only when nothing does (and the address
is this machine's) is the development SMTP sink started there. Each service listens on
KABINET_<SERVICE>_PORT (8001-8004 by default), the gateway on KABINET_GATEWAY_PORT.

Every child gets SIGTERM if this supervisor dies, and the supervisor stops when its parent
(`make`) goes away, so nothing is left running whichever way the run ends.
"""

import ctypes
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from shared.cli import migrate
from shared.config import SERVICE_PORTS, SERVICES, PlatformSettings

PR_SET_PDEATHSIG = 1
ROOT = Path(__file__).resolve().parents[2]


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _spawn(name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    print(f"starting {name}: {' '.join(args)}", flush=True)
    return subprocess.Popen(  # noqa: S603
        [sys.executable, *args], cwd=ROOT, env=env, preexec_fn=_die_with_parent
    )


def uvicorn_args(factory: str, host: str, port: int) -> list[str]:
    """How every process of the stack is started, after the interpreter (`make run` and the
    benches alike): the app factory under uvicorn, without uvicorn's access log."""
    return [
        "-m",
        "uvicorn",
        factory,
        "--factory",
        "--host",
        host,
        "--port",
        str(port),
        "--no-access-log",
    ]


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except OSError:
        return False


def service_ports() -> dict[str, int]:
    """Each service's port: KABINET_<SERVICE>_PORT, or its default."""
    return {
        name: int(os.environ.get(f"KABINET_{name.upper()}_PORT", default))
        for name, default in SERVICE_PORTS.items()
    }


def smtp_answers(host: str, port: int) -> str | None:
    """What answers at the SMTP address (its greeting, if it sends one in plain text), or None."""
    try:
        with socket.create_connection((host, port), timeout=2) as connection:
            try:
                greeting = connection.recv(512).decode("ascii", "replace").strip()
            except TimeoutError:
                greeting = ""  # an SMTPS relay waits for the TLS handshake first
            return greeting.splitlines()[0] if greeting else "no plain-text greeting"
    except OSError:
        return None


def is_local(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def main() -> int:
    settings = PlatformSettings()
    migrate(settings, list(SERVICES))
    env = dict(os.environ)
    ports = service_ports()
    for name, port in ports.items():
        env.setdefault(f"KABINET_{name.upper()}_URL", f"http://127.0.0.1:{port}")
    children: dict[str, subprocess.Popen[bytes]] = {}
    smtp = f"{settings.smtp_host}:{settings.smtp_port}"
    greeting = smtp_answers(settings.smtp_host, settings.smtp_port)
    if greeting is not None:
        mail = (
            f"SMTP server   {smtp} (already running: {greeting}; "
            f"tls={settings.smtp_tls}, login={'yes' if settings.smtp_username else 'no'})"
        )
    elif is_local(settings.smtp_host):
        mail = f"SMTP sink     {smtp} (nothing answered there; mail kept in .run/mail/)"
        children["smtp"] = _spawn(
            "smtp sink",
            [
                "-m",
                "shared.devsmtp",
                "--host",
                settings.smtp_host,
                "--port",
                str(settings.smtp_port),
            ],
            env,
        )
    else:
        mail = f"SMTP server   {smtp} (not answering yet: mail fails until it does)"
    print(f"mail: {' '.join(mail.split())}", flush=True)
    for name, port in ports.items():
        children[name] = _spawn(
            name, uvicorn_args(f"services.{name}.app:create_app", "127.0.0.1", port), env
        )
    children["gateway"] = _spawn(
        "gateway", uvicorn_args("gateway.app:create_app", "0.0.0.0", settings.gateway_port), env
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    parent = os.getppid()
    gateway = f"http://127.0.0.1:{settings.gateway_port}"
    announced = False
    started = time.monotonic()
    while not stopping:
        if os.getppid() != parent:
            break
        exited = [name for name, proc in children.items() if proc.poll() is not None]
        if exited:
            print(f"stopped unexpectedly: {', '.join(exited)}; shutting down", flush=True)
            break
        if not announced and _ready(f"{gateway}/readyz"):
            announced = True
            print(
                f"\nKabinet is ready ({time.monotonic() - started:.1f}s)\n"
                f"  gateway       {gateway}\n"
                f"  API docs      {gateway}/docs\n"
                f"  OpenAPI       {gateway}/openapi.json\n"
                f"  {mail}\n"
                "Press Ctrl-C to stop.\n",
                flush=True,
            )
        time.sleep(0.5)
    print("stopping...", flush=True)
    for proc in children.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + 15
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
