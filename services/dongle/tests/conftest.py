"""dongle test fixtures: the service on the run's database, callers as the gateway signs them."""

from collections.abc import AsyncIterator

import pytest

from services.dongle.app import create_app
from services.dongle.config import Settings
from shared.clock import ManualClock
from shared.testing.harness import ServiceHarness
from shared.testing.plugin import running

DongleHarness = ServiceHarness[Settings]


@pytest.fixture
async def dongle(platform_settings) -> AsyncIterator[DongleHarness]:
    settings = Settings(**platform_settings.model_dump())
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        yield DongleHarness(client, app, settings, clock)
