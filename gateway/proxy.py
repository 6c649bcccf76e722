"""Forwarding a public request to the service that owns its path, streaming bodies both ways.

The hop to the services is `gateway.upstream`'s keep-alive pool: this hop carries every public
request, and per request it costs a third of the CPU aiohttp's client did and a small fraction
of what httpx's pool does (docs/benchmarks.md). The gateway's own calls to identity and to the
services' documents and status keep the httpx client.
"""

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import httpx
import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send

from gateway.auth import is_caller_header, is_credential_header
from gateway.config import GatewaySettings
from gateway.routes import owning_service
from gateway.upstream import (
    Address,
    UpstreamError,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTimeout,
)
from shared.observability import REQUEST_ID_HEADER, current_request_id
from shared.problems import BadGateway, GatewayTimeout, NotFound, ProblemError, TooManyRequests

log = structlog.get_logger(__name__)

Headers = list[tuple[bytes, bytes]]

# Meaningful only for one connection (RFC 9110 §7.6.1), so never copied to the other side.
HOP_BY_HOP_HEADERS = frozenset(
    {
        b"connection",
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"proxy-connection",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
    }
)
# The gateway states these itself on the request it sends to a service (the length of the body
# it sends; a 100-continue is between the caller and the gateway, which has read the body).
REQUEST_HEADERS_SET_BY_GATEWAY = frozenset(
    {
        b"host",
        b"content-length",
        b"expect",
        REQUEST_ID_HEADER.lower().encode(),
        b"x-forwarded-for",
        b"x-forwarded-host",
        b"x-forwarded-proto",
    }
)
# uvicorn adds its own Date and Server; copying the service's would send both twice.
RESPONSE_HEADERS_SET_BY_GATEWAY = frozenset({b"date", b"server"})
# Answers up to this size (by Content-Length) are read whole and sent at once; larger ones and
# those of unknown length are streamed through.
SMALL_BODY_BYTES = 64 * 1024

UPSTREAM_REQUESTS = Counter(
    "kabinet_gateway_upstream_requests_total",
    "Requests the gateway forwarded, by service and outcome (status code, timeout, unreachable)",
    ["service", "outcome"],
)
UPSTREAM_LATENCY = Histogram(
    "kabinet_gateway_upstream_seconds",
    "Time until a service's response headers arrived",
    ["service"],
)


class PayloadTooLarge(ProblemError):
    status, type_name, title = 413, "payload-too-large", "Request body too large"


class InvalidContentLength(ProblemError):
    status, type_name, title = 400, "invalid-content-length", "Invalid Content-Length"


class RequestTimeout(ProblemError):
    status, type_name, title = 408, "request-timeout", "Request body too slow"


# The labelled series of each service, looked up once: `labels()` validates and locks every time.
@functools.lru_cache(maxsize=1024)
def _upstream_requests(service: str, outcome: int | str) -> Counter:
    return UPSTREAM_REQUESTS.labels(service, str(outcome))


@functools.lru_cache(maxsize=64)
def _upstream_latency(service: str) -> Histogram:
    return UPSTREAM_LATENCY.labels(service)


class UpstreamSlots:
    """How many service connections each client address holds at once, and a cap on it, so a
    few addresses (slow uploads, floods) cannot take the whole pool from everyone else."""

    def __init__(self, per_address: int) -> None:
        self._per_address = per_address
        self._held: dict[str, int] = {}

    def held(self, address: str) -> int:
        return self._held.get(address, 0)

    def take(self, address: str) -> Callable[[], None]:
        """Takes a slot for `address` (429 when it holds them all); returns the release."""
        held = self._held.get(address, 0)
        if held >= self._per_address:
            raise TooManyRequests(
                f"More than {self._per_address} requests at once from this address",
                retry_after=1,
            )
        self._held[address] = held + 1
        released = False

        def release() -> None:
            nonlocal released
            if released:
                return
            released = True
            left = self._held[address] - 1
            if left:
                self._held[address] = left
            else:
                del self._held[address]

        return release


def upstream_client(settings: GatewaySettings) -> httpx.AsyncClient:
    """The one connection pool to every service, shared by all requests of the process."""
    connect = settings.gateway_connect_timeout
    return httpx.AsyncClient(
        timeout=httpx.Timeout(settings.gateway_upstream_timeout, connect=connect),
        limits=httpx.Limits(
            max_connections=settings.gateway_upstream_connections,
            max_keepalive_connections=settings.gateway_upstream_connections,
        ),
        # A shared client must never keep one caller's cookies and send them for another.
        cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),
        follow_redirects=False,
        # Service addresses are internal: HTTP(S)_PROXY from the environment must not apply.
        trust_env=False,
    )


@contextlib.asynccontextmanager
async def upstream_pool(settings: GatewaySettings) -> AsyncIterator[UpstreamPool]:
    """The one pool of connections to every service, for the public requests."""
    pool = UpstreamPool(
        limit=settings.gateway_upstream_connections,
        connect_timeout=settings.gateway_connect_timeout,
        read_timeout=settings.gateway_upstream_timeout,
    )
    try:
        yield pool
    finally:
        await pool.close()


class ServiceProxy:
    """Sends each public request to the service that owns its path and relays the answer."""

    def __init__(
        self,
        pool: UpstreamPool,
        service_urls: dict[str, str],
        settings: GatewaySettings,
    ) -> None:
        self._pool = pool
        self._addresses = {service: Address.of(url) for service, url in service_urls.items()}
        self._max_body_bytes = settings.gateway_max_body_bytes
        self._buffered_body_bytes = settings.gateway_buffered_body_bytes
        self._body_timeout = settings.gateway_body_timeout
        self.slots = UpstreamSlots(settings.gateway_upstream_connections_per_address)

    def service_for(self, request: Request) -> str:
        """The service that owns the request's path; 404 when none does."""
        path: str = request.scope["path"]
        service = owning_service(path)
        if service is None:
            raise NotFound(f"No service serves {path}")
        return service

    async def forward(
        self, request: Request, service: str, caller_headers: dict[str, str]
    ) -> Response:
        """Relays `request` to `service` with `caller_headers` (the edge's word on the caller)."""
        # A small body is read whole before any service connection is taken: a client that
        # sends it slowly holds only its own socket, and gets a 408.
        body = await self._request_body(request)
        release = self.slots.take(request.client.host if request.client else "unknown")
        try:
            upstream = await self._send(request, service, caller_headers, body)
        except BaseException:
            release()
            raise
        if upstream is None:
            release()
            return Response(status_code=499)
        if _is_small(upstream):
            try:
                return await _read_whole(upstream, service)
            finally:
                release()
        return RelayedResponse(upstream, service, release)

    async def _send(
        self,
        request: Request,
        service: str,
        caller_headers: dict[str, str],
        body: bytes | AsyncIterator[bytes] | None,
    ) -> UpstreamResponse | None:
        path = request.scope["path"]
        headers = _forwarded_headers(request, caller_headers)
        started = time.perf_counter()
        try:
            upstream = await self._pool.request(
                request.method, self._addresses[service], _raw_target(request), headers, body
            )
        except UpstreamTimeout as exc:
            _upstream_requests(service, "timeout").inc()
            log.warning("upstream_timeout", service=service, path=path, error=str(exc))
            raise GatewayTimeout(f"The {service} service did not answer in time") from exc
        except UpstreamError as exc:
            _upstream_requests(service, "unreachable").inc()
            log.warning("upstream_unreachable", service=service, path=path, error=str(exc))
            raise BadGateway(f"The {service} service is unreachable") from exc
        except ClientDisconnect:
            # The caller left while sending the body; nobody is there to read an answer.
            _upstream_requests(service, "client_disconnected").inc()
            return None
        _upstream_latency(service).observe(time.perf_counter() - started)
        _upstream_requests(service, upstream.status).inc()
        return upstream

    async def _request_body(self, request: Request) -> bytes | AsyncIterator[bytes] | None:
        """The body: read whole when small and declared, else a stream; None when there is none.

        Either way a client that stalls for `gateway_body_timeout` gets a 408.
        """
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError as exc:
                raise InvalidContentLength(f"Content-Length {declared!r} is not a number") from exc
            # Refused before the service is contacted: nothing of the body is read.
            if length > self._max_body_bytes:
                raise self._too_large()
            if length == 0:
                return None
            if length <= self._buffered_body_bytes:
                try:
                    return await asyncio.wait_for(request.body(), self._body_timeout)
                except TimeoutError as exc:
                    raise self._too_slow() from exc
        elif "transfer-encoding" not in request.headers:
            return None
        return self._limited(request.stream())

    async def _limited(self, chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Passes chunks on as they arrive; a chunked body stops at the limit with a 413, a
        stalled one with a 408."""
        received = 0
        while True:
            try:
                chunk = await asyncio.wait_for(anext(chunks), self._body_timeout)
            except StopAsyncIteration:
                return
            except TimeoutError as exc:
                raise self._too_slow() from exc
            received += len(chunk)
            if received > self._max_body_bytes:
                raise self._too_large()
            yield chunk

    def _too_slow(self) -> RequestTimeout:
        return RequestTimeout(f"The request body did not arrive within {self._body_timeout:g} s")

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body is larger than {self._max_body_bytes} bytes")


def _is_small(upstream: UpstreamResponse) -> bool:
    length = upstream.content_length
    return length is not None and length <= SMALL_BODY_BYTES


async def _read_whole(upstream: UpstreamResponse, service: str) -> Response:
    """A small answer read at once and sent as one: no streaming task per response."""
    try:
        body = await upstream.read()
    except UpstreamTimeout as exc:
        _upstream_requests(service, "timeout").inc()
        raise GatewayTimeout(f"The {service} service did not answer in time") from exc
    except UpstreamError as exc:
        log.warning("upstream_body_interrupted", service=service, error=str(exc))
        raise BadGateway(f"The {service} service broke off its answer") from exc
    finally:
        upstream.release()
    response = Response(body, status_code=upstream.status)
    response.raw_headers = _relayed_headers(upstream)
    return response


class RelayedResponse(StreamingResponse):
    """A service's response streamed to the caller; its connection is released however it ends
    (kept for the next request when the body was read to its end, closed when cut short)."""

    def __init__(
        self, upstream: UpstreamResponse, service: str, release: Callable[[], None]
    ) -> None:
        super().__init__(_relay_body(upstream, service), status_code=upstream.status)
        self.raw_headers = _relayed_headers(upstream)
        self._upstream = upstream
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
            self._upstream.release()


async def _relay_body(upstream: UpstreamResponse, service: str) -> AsyncIterator[bytes]:
    # Raw bytes: a compressed body stays compressed, matching the Content-Encoding passed on.
    try:
        async for chunk in upstream.chunks():
            yield chunk
    except UpstreamError as exc:
        # The status line is already sent; aborting the connection is the only honest signal.
        log.warning("upstream_body_interrupted", service=service, error=str(exc))
        raise


def _relayed_headers(upstream: UpstreamResponse) -> Headers:
    return [
        (name, value)
        for name, value in _without_connection_headers(upstream.headers)
        if name not in RESPONSE_HEADERS_SET_BY_GATEWAY
    ]


def _raw_target(request: Request) -> str:
    """Path and query exactly as the caller encoded them, so the service sees them unchanged."""
    raw_path: bytes | None = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _forwarded_headers(request: Request, caller_headers: dict[str, str]) -> list[tuple[str, str]]:
    """The caller's headers minus hop-by-hop, credentials and `X-Kabinet-*`, plus what the
    gateway states; as text, the way the upstream client takes them."""
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in _without_connection_headers(request.headers.raw)
        if name not in REQUEST_HEADERS_SET_BY_GATEWAY
        and not is_caller_header(name)
        and not is_credential_header(name)
    ]
    request_id = current_request_id()
    if request_id:
        headers.append((REQUEST_ID_HEADER, request_id))
    # The gateway is the edge: the caller's own X-Forwarded-* claims are replaced, not extended
    # (behind a trusted ingress, uvicorn's --proxy-headers has already set `request.client`).
    if request.client:
        headers.append(("x-forwarded-for", request.client.host))
    headers.append(("x-forwarded-proto", request.scope["scheme"]))
    if host := request.headers.get("host"):
        headers.append(("x-forwarded-host", host))
    headers.extend(caller_headers.items())
    return headers


def _without_connection_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Drops hop-by-hop headers, including any the `Connection` header names (names come back
    lower-case)."""
    pairs = [(name.lower(), value) for name, value in raw]
    named_by_connection = {
        token.strip().lower()
        for name, value in pairs
        if name == b"connection"
        for token in value.split(b",")
    }
    dropped = HOP_BY_HOP_HEADERS | named_by_connection
    return [(name, value) for name, value in pairs if name not in dropped]
