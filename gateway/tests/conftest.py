"""Four running service doubles for the whole session, and gateways started against them."""

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import httpx
import pytest

from gateway.app import create_app
from gateway.config import GatewaySettings
from gateway.tests.doubles import SERVICE_NAMES, ServiceDouble
from shared.testing.servers import serve

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
