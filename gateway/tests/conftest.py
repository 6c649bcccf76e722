"""Four running service doubles and the real identity service for the whole session, and
gateways started against them."""

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.tests.doubles import SERVICE_NAMES, ServiceDouble
from gateway.tests.identity import CountingApp, RunningIdentity
from services.identity.app import create_app as create_identity_app
from services.identity.tests.conftest import MailSink, identity_settings
from shared.clock import Clock, ManualClock
from shared.config import PlatformSettings
from shared.testing.servers import free_port, serve

Doubles = dict[str, ServiceDouble]
StartGateway = Callable[..., contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture(scope="session")
async def running_doubles() -> AsyncIterator[Doubles]:
    doubles = {name: ServiceDouble(name) for name in SERVICE_NAMES}
    async with contextlib.AsyncExitStack() as stack:
        for double in doubles.values():
            double.url = await stack.enter_async_context(serve(double))
        yield doubles


@pytest.fixture
def doubles(running_doubles: Doubles) -> Iterator[Doubles]:
    """The doubles with nothing recorded; anything a test held is released afterwards."""
    for double in running_doubles.values():
        double.reset()
    yield running_doubles
    for double in running_doubles.values():
        double.release.set()


def gateway_settings(doubles: Doubles, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {f"{name}_url": double.url for name, double in doubles.items()}
    values.update(log_json=False, log_level="WARNING", **overrides)
    return GatewaySettings(**values)


@pytest.fixture
def start_gateway(doubles: Doubles) -> StartGateway:
    """Serves a gateway (uvicorn, free port) in front of the doubles, with settings overridden."""

    @contextlib.asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
        app = create_app(gateway_settings(doubles, **overrides))
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
            yield client

    return start


@pytest.fixture
async def gateway(start_gateway: StartGateway) -> AsyncIterator[httpx.AsyncClient]:
    async with start_gateway() as client:
        yield client


@pytest.fixture(scope="session")
async def identity_service(platform_settings: PlatformSettings) -> AsyncIterator[RunningIdentity]:
    """The real identity service (no bus workers), on a clock the tests move, for the run."""
    mail = MailSink()
    smtp = Controller(mail, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings = identity_settings(
        platform_settings,
        smtp.port,
        "http://127.0.0.1:9/unused-sms",
        sms_provider="log",
        run_workers=False,
    )
    clock = ManualClock()
    app = create_identity_app(settings, clock=clock)
    counting = CountingApp(app)
    try:
        async with serve(counting) as url:
            yield RunningIdentity(url, app, settings, clock, counting.hits)
    finally:
        smtp.stop()


@pytest.fixture
def start_edge(doubles: Doubles, identity_service: RunningIdentity) -> StartGateway:
    """Serves a gateway in front of the real identity and the other services' doubles.

    It runs on identity's clock unless given another one, so token expiry, cache lifetimes
    and rate-limit windows move together when a test moves that clock.
    """

    @contextlib.asynccontextmanager
    async def start(
        clock: Clock | None = None, **overrides: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        settings = gateway_settings(
            doubles,
            **{
                "identity_url": identity_service.url,
                "internal_secret": identity_service.settings.internal_secret,
                **overrides,
            },
        )
        app = create_app(settings, clock=clock or identity_service.clock)
        async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=20) as client:
            yield client

    return start
