"""Cheap denials of service at the edge: slow bodies, one address holding the service
connections, a service's 500 breaking the next call; each tried with real sockets."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import httpx

from gateway.tests.conftest import Doubles
from shared.service import create_service_app
from shared.testing.servers import serve
from shared.tests.test_storable_text import text_probe_definition

SLOW_CLIENTS = 40
POOL = 10


async def slow_client(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A client that announces a 100-byte body and sends one byte of it."""
    address = urlsplit(url)
    reader, writer = await asyncio.open_connection(address.hostname, address.port)
    writer.write(
        b"POST /api/v1/tickets HTTP/1.1\r\nHost: gateway\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"
    )
    await writer.drain()
    return reader, writer


@contextlib.asynccontextmanager
async def client_from(url: str, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose connections come from another loopback address."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    async with httpx.AsyncClient(base_url=url, transport=transport, timeout=20) as client:
        yield client


async def test_slow_bodies_get_408_and_everyone_else_is_served(start_gateway, doubles: Doubles):
    async with start_gateway(
        gateway_body_timeout=1.0,
        gateway_upstream_connections=POOL,
        # A starved pool would show as 504s within this.
        gateway_upstream_timeout=3.0,
    ) as gateway:
        url = str(gateway.base_url)
        slow = [await slow_client(url) for _ in range(SLOW_CLIENTS)]
        served = [
            await gateway.post("/api/v1/tickets", json={"subject": f"n{n}"}) for n in range(POOL)
        ]
        answers = [await asyncio.wait_for(reader.read(), 10) for reader, _ in slow]
        for _, writer in slow:
            writer.close()
    assert [response.status_code for response in served] == [200] * POOL
    for answer in answers:
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert b"application/problem+json" in answer
    # The slow bodies never reached the service.
    assert len(doubles["helpdesk"].received) == POOL


async def test_one_address_cannot_hold_every_service_connection(start_gateway, doubles: Doubles):
    async with start_gateway(gateway_upstream_connections_per_address=3) as gateway:
        url = str(gateway.base_url)
        held = [asyncio.create_task(gateway.get("/api/v1/tickets?hold")) for _ in range(3)]
        await asyncio.sleep(0)
        async with client_from(url, "127.0.0.2") as neighbour:
            for _ in range(50):
                if doubles["helpdesk"].hits["/api/v1/tickets"] == 3:
                    break
                await asyncio.sleep(0.05)
            refused = await gateway.get("/api/v1/tickets")
            others = await neighbour.get("/api/v1/tickets")
        doubles["helpdesk"].release.set()
        assert [(await task).status_code for task in held] == [200] * 3
        again = await gateway.get("/api/v1/tickets")
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["retry-after"] == "1"
    assert others.status_code == 200
    assert again.status_code == 200


@contextlib.asynccontextmanager
async def probe_behind(start_gateway, platform_settings) -> AsyncIterator[httpx.AsyncClient]:
    """A real service (text_probe_definition) as dongle, behind a gateway with ONE pooled
    connection to it: every call after another goes over the connection that one used."""
    settings = platform_settings.model_copy(update={"run_workers": False})
    service = create_service_app(text_probe_definition("dongle"), settings)
    async with (
        serve(service) as dongle_url,
        start_gateway(dongle_url=dongle_url, gateway_upstream_connections=1) as gateway,
    ):
        yield gateway


async def test_a_500_in_a_service_does_not_break_the_next_call(
    start_gateway, doubles: Doubles, platform_settings
):
    async with probe_behind(start_gateway, platform_settings) as gateway:
        # Queued behind each other, so a call takes the connection the instant a 500 frees it.
        answers = await asyncio.gather(
            *(gateway.get(f"/api/v1/keys/{path}") for _ in range(20) for path in ("crash", "fine"))
        )
    crashed, fine = answers[::2], answers[1::2]
    assert [response.status_code for response in fine] == [200] * 20
    assert {response.status_code for response in crashed} == {500}
    assert {response.headers["content-type"] for response in crashed} == {
        "application/problem+json"
    }


async def test_nul_through_the_gateway_is_a_422_and_the_next_call_is_served(
    start_gateway, doubles: Doubles, platform_settings
):
    async with probe_behind(start_gateway, platform_settings) as gateway:
        for _ in range(5):
            refused = await gateway.post("/api/v1/keys/notes", json={"title": "\u0000"})
            assert refused.status_code == 422, refused.text
            assert refused.json()["errors"][0]["field"] == "title"
            fine = await gateway.get("/api/v1/keys/fine")
            assert fine.status_code == 200, fine.text
