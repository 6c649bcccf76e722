"""Pytest fixtures every test suite of Kabinet uses (loaded by `-p shared.testing.plugin`).

Each test run gets its own freshly created database (UTF-8) with every schema migrated, and
its own exchange/queue names, so runs never see each other's data or messages.
"""

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus import topology
from shared.clock import ManualClock
from shared.config import SERVICES, PlatformSettings
from shared.db import drop_database, ensure_database
from shared.migrations import upgrade
from shared.testing.servers import free_port, serve
from shared.testing.sinks import MailSink, SmsSink

RUN_ID = uuid.uuid4().hex[:10]


def _test_database_url() -> str:
    base = make_url(os.environ.get("KABINET_DATABASE_URL", PlatformSettings().database_url))
    return base.set(database=f"kabinet_test_{RUN_ID}").render_as_string(hide_password=False)


@pytest.fixture(scope="session")
async def platform_settings() -> AsyncIterator[PlatformSettings]:
    """The run's database (created and migrated) and bus namespace, exported to the environment."""
    database_url = _test_database_url()
    namespace = f"test-{RUN_ID}."
    os.environ["KABINET_DATABASE_URL"] = database_url
    os.environ["KABINET_BUS_NAMESPACE"] = namespace
    os.environ.setdefault("KABINET_LOG_JSON", "false")
    os.environ.setdefault("KABINET_LOG_LEVEL", "WARNING")
    await ensure_database(database_url)
    for service in SERVICES:
        await asyncio.to_thread(upgrade, service, database_url)
    settings = PlatformSettings()
    try:
        yield settings
    finally:
        await delete_bus_names(settings)
        if not os.environ.get("KABINET_KEEP_TEST_DB"):
            await drop_database(database_url)


async def delete_bus_names(settings: PlatformSettings) -> None:
    """Removes every queue and exchange of the settings' bus namespace, if the broker answers."""
    with contextlib.suppress(Exception):
        await topology.delete_bus_names(settings)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@contextlib.asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Runs the app's lifespan (workers included) and gives an in-process client for it."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def eventually(
    check: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05
) -> Any:
    """Polls `check` (sync or async) until it returns a truthy value or the timeout passes."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout}s")
        await asyncio.sleep(interval)


async def arrived(code_of: Callable[[], str]) -> str:
    """A code sent after the answer went out (identity commits first, then sends): waited for.
    `code_of` is a sink's `last_code`, which raises AssertionError until the code is there."""

    def code() -> str | None:
        try:
            return code_of()
        except AssertionError:
            return None

    found: str = await eventually(code)
    return found


@pytest.fixture(scope="session")
def mail_sink() -> Any:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield sink, controller.port
    controller.stop()


@pytest.fixture(scope="session")
async def sms_sink() -> AsyncIterator[SmsSink]:
    sink = SmsSink()
    async with serve(sink.webhook()) as base_url:
        sink.url = f"{base_url}/sms"
        yield sink


async def idle_transactions_locking(session: AsyncSession, table: str) -> int:
    """How many transactions hold a lock on `table` while idle (waiting on their client, such
    as a sender talking to a mail server inside its transaction)."""
    held = await session.scalar(
        text(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
            " JOIN pg_stat_activity a ON a.pid = l.pid"
            " WHERE c.relname = :table AND a.state = 'idle in transaction'"
        ),
        {"table": table},
    )
    return int(held or 0)
