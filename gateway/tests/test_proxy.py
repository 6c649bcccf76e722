"""Forwarding through a served gateway to real service doubles: routing, streaming, failures,
request ids, caller headers, body limits."""

import asyncio
import hashlib
import json
import re
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

from gateway.app import create_app
from gateway.tests.conftest import Doubles, gateway_settings
from gateway.tests.doubles import DOWNLOAD_CHUNK, ServiceDouble, download_content
from shared.testing.servers import free_port, serve

PROBLEM = "application/problem+json"

# One path of each service's spec table, with a query that must arrive byte for byte.
ROUTED_REQUESTS = [
    ("POST", "/api/v1/registration/lookup", "identity"),
    ("GET", "/api/v1/price-list", "licensing"),
    ("POST", "/api/v1/licenses/validate", "licensing"),
    ("PUT", "/api/v1/calendar/days/2025-01-01", "helpdesk"),
    ("GET", "/api/v1/kb/search", "helpdesk"),
    ("DELETE", "/api/v1/keys/SN-0001/protection", "dongle"),
    ("POST", "/api/v1/admin/prolongation-runs", "dongle"),
]
RAW_QUERY = "q=%D0%BF%D1%80%D0%B8%D0%BD%D1%82%D0%B5%D1%80+hp&tag=a&tag=b&empty="


def only_receiver(doubles: Doubles) -> ServiceDouble:
    receivers = [double for double in doubles.values() if double.received]
    assert len(receivers) == 1, [double.name for double in receivers]
    return receivers[0]


@pytest.mark.parametrize(("method", "path", "service"), ROUTED_REQUESTS)
async def test_request_goes_to_owning_service_unchanged(gateway, doubles, method, path, service):
    body = f"{method} body for {service}".encode()
    response = await gateway.request(
        method,
        f"{path}?{RAW_QUERY}",
        content=body,
        headers={"Content-Type": "text/plain", "X-Client-Note": "kept"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["x-served-by"] == service
    receiver = only_receiver(doubles)
    assert receiver.name == service
    [received] = receiver.received
    assert received.method == method
    assert received.raw_path == path
    assert received.query == RAW_QUERY
    assert received.body_sha256 == hashlib.sha256(body).hexdigest()
    assert received.header("x-client-note") == "kept"
    assert received.header("content-type") == "text/plain"


async def test_percent_encoded_path_is_forwarded_as_sent(gateway, doubles):
    # Decoding would turn %2F into a path separator and change which resource is meant.
    path = "/api/v1/documents/%D0%B0%D0%BA%D1%82%2F2025%201.pdf"
    response = await gateway.get(path)
    assert response.status_code == 200
    assert doubles["licensing"].received[0].raw_path == path


async def test_status_and_response_headers_come_back(gateway, doubles):
    response = await gateway.post("/api/v1/tickets?status=201", json={"subject": "Не печатает"})
    assert response.status_code == 201
    assert response.headers["x-served-by"] == "helpdesk"
    assert response.json()["service"] == "helpdesk"


async def test_unknown_api_path_is_a_404_problem(gateway, doubles):
    for path in ("/api/v1/nothing-here", "/api/v1/metrics", "/api/v2/tickets"):
        response = await gateway.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["status"] == 404
    assert not any(double.received for double in doubles.values())


async def test_large_upload_streams_to_the_service(gateway, doubles):
    size = 8 * 1024 * 1024
    content = download_content(size)
    licensing = doubles["licensing"]

    async def upload() -> AsyncIterator[bytes]:
        yield content[:DOWNLOAD_CHUNK]
        # A gateway that buffered the whole body would never pass this first chunk on.
        await asyncio.wait_for(licensing.first_chunk_arrived.wait(), 10)
        for start in range(DOWNLOAD_CHUNK, size, DOWNLOAD_CHUNK):
            yield content[start : start + DOWNLOAD_CHUNK]

    response = await gateway.post("/api/v1/contracts", content=upload())
    assert response.status_code == 200, response.text
    assert response.json()["body_length"] == size
    assert response.json()["body_sha256"] == hashlib.sha256(content).hexdigest()


async def test_large_download_streams_to_the_caller(gateway, doubles):
    size = 8 * 1024 * 1024
    async with gateway.stream("GET", f"/api/v1/documents/7?download={size}") as response:
        assert response.status_code == 200
        chunks = response.aiter_raw()
        first = await asyncio.wait_for(anext(chunks), 10)
        # The service sends the rest only now: a buffering gateway would have timed out above.
        doubles["licensing"].release.set()
        received = first + b"".join([chunk async for chunk in chunks])
    assert len(received) == size
    assert hashlib.sha256(received).hexdigest() == response.headers["x-body-sha256"]


async def test_compressed_body_is_relayed_as_the_service_sent_it(gateway, doubles):
    response = await gateway.get("/api/v1/kb/articles/5?gzip=1")
    assert response.headers["content-encoding"] == "gzip"
    assert response.text == "compressed by helpdesk"


async def test_unreachable_service_is_a_502_problem(start_gateway, doubles):
    async with start_gateway(dongle_url=f"http://127.0.0.1:{free_port()}") as gateway:
        response = await gateway.get("/api/v1/keys", headers={"X-Request-ID": "down-1"})
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"] == "down-1"
    problem = response.json()
    assert problem["status"] == 502
    assert problem["type"].endswith("/bad-gateway")
    assert "dongle" in problem["detail"]


async def test_slow_service_is_a_504_problem_without_waiting_for_it(start_gateway, doubles):
    async with start_gateway(gateway_upstream_timeout=0.5) as gateway:
        started = time.perf_counter()
        response = await gateway.get("/api/v1/tickets?hold=1")
        elapsed = time.perf_counter() - started
    assert response.status_code == 504
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["type"].endswith("/gateway-timeout")
    assert "helpdesk" in response.json()["detail"]
    # The double holds the answer for 30 s; the gateway gave up after its 0.5 s timeout.
    assert elapsed < 5


async def test_request_id_is_passed_to_the_service_and_echoed(gateway, doubles):
    response = await gateway.get("/api/v1/me/sessions", headers={"X-Request-ID": "req-abc.123"})
    assert response.headers["x-request-id"] == "req-abc.123"
    assert doubles["identity"].received[0].header_values("x-request-id") == ["req-abc.123"]


@pytest.mark.parametrize("sent", [None, "not a valid id!"])
async def test_request_id_is_generated_when_absent_or_malformed(gateway, doubles, sent):
    headers = {"X-Request-ID": sent} if sent else {}
    response = await gateway.get("/api/v1/callbacks", headers=headers)
    generated = response.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    assert doubles["helpdesk"].received[0].header_values("x-request-id") == [generated]


async def test_caller_headers_from_the_client_never_reach_the_service(gateway, doubles):
    forged = {
        "X-Kabinet-User-Id": "1",
        "x-kabinet-roles": "admin",
        "X-KABINET-ORGANIZATION-ID": "42",
        "X-Kabinet-": "empty-suffix",
        "Proxy-Authorization": "Basic c2VjcmV0",
        "X-Kabinetic": "not ours, kept",
    }
    response = await gateway.get("/api/v1/invoices", headers=forged)
    assert response.status_code == 200
    [received] = doubles["licensing"].received
    names = {name for name, _ in received.headers}
    assert not [name for name in names if name.startswith("x-kabinet-")]
    assert "proxy-authorization" not in names
    assert received.header("x-kabinetic") == "not ours, kept"


async def test_declared_body_over_the_limit_is_a_413_problem(start_gateway, doubles):
    async with start_gateway(gateway_max_body_bytes=1000) as gateway:
        at_limit = await gateway.post("/api/v1/tickets", content=b"x" * 1000)
        over = await gateway.post("/api/v1/tickets", content=b"x" * 1001)
    assert at_limit.status_code == 200
    assert over.status_code == 413
    assert over.headers["content-type"] == PROBLEM
    assert over.json()["status"] == 413
    # Refused on its Content-Length alone: the service was not even asked.
    assert doubles["helpdesk"].hits["/api/v1/tickets"] == 1


async def test_chunked_body_over_the_limit_is_a_413_problem(start_gateway, doubles):
    async def chunked() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b"x" * 600

    async with start_gateway(gateway_max_body_bytes=1000) as gateway:
        response = await gateway.post("/api/v1/tickets", content=chunked())
    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    # The service never got the whole body, so it answered nothing.
    assert doubles["helpdesk"].received == []


async def test_cookies_are_relayed_but_never_kept_by_the_gateway(gateway, doubles):
    first = await gateway.get("/api/v1/auth/session?set_cookie=1")
    set_cookies = sorted(first.headers.get_list("set-cookie"))
    assert len(set_cookies) == 2
    assert set_cookies[0].startswith("session=identity-secret")
    gateway.cookies.clear()
    await gateway.get("/api/v1/auth/session")
    assert doubles["identity"].received[1].header("cookie") is None
    # The gateway's own calls to the service must not carry a caller's cookie either.
    await gateway.get("/status")
    assert b"cookie" not in doubles["identity"].last_headers["/readyz"]


async def test_small_answer_broken_off_by_the_service_is_a_502_problem(start_gateway, doubles):
    """A small answer is read whole before anything is sent on, so a service that dies half-way
    through it costs the caller a clean 502 problem instead of a truncated body."""

    async def half_an_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10)
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(half_an_answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server, start_gateway(dongle_url=f"http://127.0.0.1:{port}") as gateway:
        response = await gateway.get("/api/v1/keys", headers={"X-Request-ID": "cut-1"})
    assert response.status_code == 502
    assert response.headers["content-type"] == PROBLEM
    assert response.headers["x-request-id"] == "cut-1"
    assert "dongle" in response.json()["detail"]


async def test_a_method_the_gateway_does_not_proxy_is_a_405_problem(gateway, doubles):
    response = await gateway.request("TRACE", "/api/v1/products")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert "GET" in response.headers["allow"]
    assert response.headers["x-request-id"]
    assert not any(double.received for double in doubles.values())


async def test_a_fault_inside_the_gateway_is_a_500_problem_and_the_connection_stays_usable(
    doubles,
):
    """Forwarding answers what it raises unexpectedly itself: a 500 problem with the request
    id, on a keep-alive connection that serves the next call (uvicorn would close one an
    exception escaped from). The fault is injected into the gateway's own rate limits,
    every other call."""
    app = create_app(gateway_settings(doubles))
    async with serve(app) as url:
        limits = app.state.gateway.rate_limits
        healthy, calls = limits.admit, 0

        def every_other_call_fails(*args: object) -> object:
            nonlocal calls
            calls += 1
            if calls % 2:
                raise RuntimeError("a fault inside the gateway")
            return healthy(*args)

        limits.admit = every_other_call_fails
        address = urlsplit(url)
        reader, writer = await asyncio.open_connection(address.hostname, address.port)
        answers = []
        try:
            for number in range(4):
                writer.write(
                    b"GET /api/v1/products HTTP/1.1\r\nHost: edge\r\n"
                    b"X-Request-ID: call-%d\r\n\r\n" % number
                )
                await writer.drain()
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
                headers = dict(
                    line.lower().split(b": ", 1) for line in head.split(b"\r\n")[1:] if line
                )
                body = await reader.readexactly(int(headers[b"content-length"]))
                answers.append(
                    (head.split(b" ", 2)[1], headers[b"x-request-id"], headers[b"content-type"])
                )
                if answers[-1][0] == b"500":
                    assert json.loads(body)["instance"] == "/api/v1/products"
        finally:
            writer.close()
    assert [status for status, _, _ in answers] == [b"500", b"200", b"500", b"200"]
    assert [request_id for _, request_id, _ in answers] == [b"call-%d" % n for n in range(4)]
    assert answers[0][2] == PROBLEM.encode()
    assert len(doubles["licensing"].received) == 2


async def test_the_service_gets_the_length_of_the_body_the_gateway_sends_and_no_expect(
    gateway, doubles
):
    """The gateway has read the body and states its length itself; a 100-continue is between
    the caller and the gateway."""
    body = '{"subject": "Ключ не виден"}'.encode()
    response = await gateway.post(
        "/api/v1/tickets",
        content=body,
        headers={"Content-Type": "application/json", "Expect": "100-continue"},
    )
    assert response.status_code == 200
    [received] = doubles["helpdesk"].received
    assert received.header_values("content-length") == [str(len(body))]
    assert received.header_values("transfer-encoding") == []
    assert received.header("expect") is None
    assert received.body_length == len(body)
