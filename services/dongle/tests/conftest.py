"""dongle test fixtures: the service on the run's database, callers as the gateway signs them."""

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from services.dongle.app import create_app
from services.dongle.config import Settings
from shared.auth import PRINCIPAL_HEADER, Principal, sign_principal
from shared.clock import ManualClock
from shared.testing.plugin import running


@dataclass
class DongleHarness:
    client: httpx.AsyncClient
    app: FastAPI
    settings: Settings
    clock: ManualClock

    def as_(self, principal: Principal) -> dict[str, str]:
        """Headers the gateway would send for this caller."""
        return {PRINCIPAL_HEADER: sign_principal(principal, self.settings.internal_secret)}

    def as_admin(self) -> dict[str, str]:
        return self.as_(Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"]))

    def as_agent(self) -> dict[str, str]:
        return self.as_(Principal(kind="user", user_id=uuid.uuid4(), roles=["agent"]))

    def as_contact(self, organization_id: uuid.UUID) -> dict[str, str]:
        return self.as_(
            Principal(
                kind="user",
                user_id=uuid.uuid4(),
                organization_id=organization_id,
                roles=["contact"],
            )
        )

    def as_accountant(self, organization_id: uuid.UUID) -> dict[str, str]:
        return self.as_(
            Principal(kind="accountant", organization_id=organization_id, roles=["accountant"])
        )

    def as_api_key(self, organization_id: uuid.UUID) -> dict[str, str]:
        return self.as_(
            Principal(
                kind="api_key",
                organization_id=organization_id,
                api_key_id=uuid.uuid4(),
                scopes=["read"],
            )
        )


@pytest.fixture
async def dongle(platform_settings) -> AsyncIterator[DongleHarness]:
    settings = Settings(**platform_settings.model_dump())
    clock = ManualClock()
    app = create_app(settings, clock=clock)
    async with running(app) as client:
        yield DongleHarness(client, app, settings, clock)
