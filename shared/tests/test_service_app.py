"""Every service starts, reports health and readiness, serves metrics and problem errors."""

import importlib
import inspect
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from services.dongle.app import create_app as dongle_app
from services.helpdesk.app import create_app as helpdesk_app
from services.identity.app import create_app as identity_app
from services.licensing.app import create_app as licensing_app
from shared.config import PlatformSettings
from shared.service import get_sessionmaker, settings_of
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


def _dependency_calls(dependant: Dependant) -> Iterator[Callable[..., Any]]:
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            yield dependency.call
        yield from _dependency_calls(dependency)


@pytest.mark.parametrize("service", sorted(FACTORIES))
def test_every_dependency_of_a_route_is_a_coroutine(service):
    """FastAPI runs a plain `def` dependency in a worker thread: one hand-off per request."""
    definition = importlib.import_module(f"services.{service}.app").definition
    sync = {
        f"{call.__module__}.{call.__qualname__}"
        for router in definition.routers
        for route in router.routes
        if isinstance(route, APIRoute)
        for call in _dependency_calls(route.dependant)
        if not (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call))
    }
    assert sync == set()


def test_the_platform_dependencies_are_coroutines():
    assert inspect.iscoroutinefunction(settings_of(PlatformSettings))
    assert inspect.iscoroutinefunction(get_sessionmaker)
