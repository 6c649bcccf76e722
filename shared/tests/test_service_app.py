"""Every service starts, reports health and readiness, serves metrics and problem errors."""

from collections.abc import Callable

import pytest
from fastapi import FastAPI

from services.dongle.app import create_app as dongle_app
from services.helpdesk.app import create_app as helpdesk_app
from services.identity.app import create_app as identity_app
from services.licensing.app import create_app as licensing_app
from shared.testing.plugin import running

FACTORIES: dict[str, Callable[[], FastAPI]] = {
    "identity": identity_app,
    "licensing": licensing_app,
    "helpdesk": helpdesk_app,
    "dongle": dongle_app,
}


@pytest.mark.parametrize("service", sorted(FACTORIES))
async def test_service_is_healthy_ready_and_measured(platform_settings, service):
    app = FACTORIES[service]()
    async with running(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": "ok", "broker": "ok"}
        metrics = await client.get("/metrics")
        assert "kabinet_http_requests_total" in metrics.text
        missing = await client.get("/no/such/path", headers={"X-Request-ID": "abc-123"})
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.headers["x-request-id"] == "abc-123"
        assert missing.json()["status"] == 404
