"""helpdesk test fixtures: the service on the run's database, callers as the gateway signs them."""

from collections.abc import AsyncIterator

import pytest

from services.helpdesk.app import create_app
from services.helpdesk.config import Settings
from shared.clock import ManualClock
from shared.testing.harness import ServiceHarness
from shared.testing.plugin import running

HelpdeskHarness = ServiceHarness[Settings]


@pytest.fixture
async def helpdesk(platform_settings) -> AsyncIterator[HelpdeskHarness]:
    settings = Settings(**platform_settings.model_dump())
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        yield HelpdeskHarness(client, app, settings, clock)
