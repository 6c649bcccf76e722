"""`make run`'s supervisor (deploy/local/run.py) as a real process, beside an SMTP server that
already listens on the configured port: it uses that server instead of starting the sink, the
stack comes up behind the gateway, mail reaches the server, and Ctrl-C stops every process."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import make_url

from shared.config import SERVICES, PlatformSettings
from shared.db import drop_database
from shared.testing.plugin import RUN_ID, delete_bus_names, eventually
from shared.testing.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
ADMIN = "run-admin@kabinet.test"


@dataclass
class Run:
    process: subprocess.Popen[bytes]
    log: Path
    gateway: str
    ports: list[int]

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture
async def supervisor(
    platform_settings: PlatformSettings, mail_sink: Any, tmp_path: Path
) -> AsyncIterator[Run]:
    """The supervisor with its own database, bus namespace and ports; the SMTP port is taken."""
    _, smtp_port = mail_sink
    database_url = (
        make_url(platform_settings.database_url)
        .set(database=f"kabinet_test_{RUN_ID}_run")
        .render_as_string(hide_password=False)
    )
    ports = {name: free_port() for name in SERVICES}
    gateway_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KABINET_")}
    env.update(
        KABINET_DATABASE_URL=database_url,
        KABINET_AMQP_URL=platform_settings.amqp_url,
        KABINET_BUS_NAMESPACE=f"test-{RUN_ID}-run.",
        KABINET_SMTP_HOST="127.0.0.1",
        KABINET_SMTP_PORT=str(smtp_port),
        KABINET_GATEWAY_PORT=str(gateway_port),
        KABINET_ADMIN_EMAIL=ADMIN,
        KABINET_ADMIN_PASSWORD="Run-Admin-Pass-1",
        KABINET_LOG_LEVEL="WARNING",
        KABINET_DB_POOL_SIZE="2",  # five processes beside the suite's own: spare the database
        **{f"KABINET_{name.upper()}_PORT": str(port) for name, port in ports.items()},
    )
    log = tmp_path / "run.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "deploy.local.run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    run = Run(process, log, f"http://127.0.0.1:{gateway_port}", [*ports.values(), gateway_port])
    try:
        yield run
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        own = platform_settings.model_copy(update={"bus_namespace": env["KABINET_BUS_NAMESPACE"]})
        await delete_bus_names(own)
        await drop_database(database_url)


async def test_make_run_uses_the_smtp_server_already_on_the_port_and_stops_cleanly(
    supervisor: Run, mail_sink: Any
) -> None:
    sink, smtp_port = mail_sink
    await eventually(
        lambda: "Kabinet is ready" in supervisor.output() or supervisor.process.poll() is not None,
        timeout=60,
        interval=0.2,
    )
    output = supervisor.output()
    assert "Kabinet is ready" in output, output
    assert f"SMTP server   127.0.0.1:{smtp_port} (already running: 220" in output
    assert "shared.devsmtp" not in output

    async with httpx.AsyncClient(base_url=supervisor.gateway, timeout=10) as gateway:
        assert (await gateway.get("/readyz")).status_code == 200
        started = await gateway.post("/api/v1/auth/password-recovery", json={"email": ADMIN})
        assert started.status_code == 202, started.text
    await eventually(lambda: sink.to(ADMIN), timeout=15)

    supervisor.process.send_signal(signal.SIGINT)
    assert await asyncio.to_thread(supervisor.process.wait, 30) == 0
    assert "stopped." in supervisor.output()
    assert [port for port in supervisor.ports if listening(port)] == []
