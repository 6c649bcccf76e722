"""licensing test fixtures: the service on the run's database, callers as the gateway signs them."""

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url

from services.licensing.app import create_app
from services.licensing.config import Settings
from shared.clock import ManualClock
from shared.config import PlatformSettings
from shared.db import drop_database, ensure_database
from shared.migrations import upgrade
from shared.testing.harness import ServiceHarness
from shared.testing.plugin import delete_bus_names, running

# Price list versions live in the run's one database: each test takes years nobody else uses.
_years = itertools.count(2100)


def unique_year() -> int:
    return next(_years)


LicensingHarness = ServiceHarness[Settings]


def licensing_settings(platform_settings: PlatformSettings, **overrides: Any) -> Settings:
    return Settings(**{**platform_settings.model_dump(), **overrides})


@pytest.fixture
async def licensing(platform_settings, tmp_path) -> AsyncIterator[LicensingHarness]:
    # A bus namespace of its own: events about made-up organizations stay with this test.
    settings = licensing_settings(
        platform_settings,
        documents_dir=tmp_path / "documents",
        bus_namespace=f"{platform_settings.bus_namespace}lic-{uuid.uuid4().hex[:8]}.",
    )
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    try:
        async with running(app) as client:
            yield LicensingHarness(client, app, settings, clock)
    finally:
        await delete_bus_names(settings)


@pytest.fixture
async def empty_database(platform_settings) -> AsyncIterator[Settings]:
    """Settings of a database of its own with licensing's schema migrated and nothing in it."""
    url = (
        make_url(platform_settings.database_url)
        .set(database=f"{make_url(platform_settings.database_url).database}_{uuid.uuid4().hex[:6]}")
        .render_as_string(hide_password=False)
    )
    await ensure_database(url)
    try:
        await asyncio.to_thread(upgrade, "licensing", url)
        yield licensing_settings(platform_settings, database_url=url, run_workers=False)
    finally:
        await drop_database(url)
