"""Forwarding a public request to the service that owns its path, streaming bodies both ways.

The hop to the services uses aiohttp's client: per request it costs a small fraction of the CPU
httpx's pool does (docs/benchmarks.md), and this hop carries every public request. The gateway's
own calls to identity and to the services' documents and status keep the httpx client.
"""

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterable
from http.cookiejar import CookieJar, DefaultCookiePolicy

import aiohttp
import httpx
import structlog
from prometheus_client import Counter, Histogram
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.types import Receive, Scope, Send
from yarl import URL

from gateway.auth import is_caller_header, is_credential_header
from gateway.config import GatewaySettings
from gateway.routes import owning_service
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
# The gateway states these itself on the request it sends to a service.
REQUEST_HEADERS_SET_BY_GATEWAY = frozenset(
    {
        b"host",
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


# Headers aiohttp would add on its own; the service must see only what the caller sent.
NOT_ADDED = frozenset({"Accept", "Accept-Encoding", "User-Agent", "Content-Type"})
# Below the services' own keep-alive (uvicorn: 5 s), so an idle connection is dropped here
# first and never reused just as the service closes it.
KEEPALIVE_SECONDS = 4.0


@contextlib.asynccontextmanager
async def upstream_session(settings: GatewaySettings) -> AsyncIterator[aiohttp.ClientSession]:
    """The one connection pool to the services for forwarded requests."""
    connector = aiohttp.TCPConnector(
        limit=settings.gateway_upstream_connections,
        limit_per_host=0,
        keepalive_timeout=KEEPALIVE_SECONDS,
    )
    session = aiohttp.ClientSession(
        connector=connector,
        # Until the response headers, and between body chunks, as httpx's read timeout was.
        timeout=aiohttp.ClientTimeout(
            total=None,
            sock_connect=settings.gateway_connect_timeout,
            sock_read=settings.gateway_upstream_timeout,
        ),
        # Bodies are relayed as the service sent them: compressed stays compressed.
        auto_decompress=False,
        # A shared client must never keep one caller's cookies and send them for another.
        cookie_jar=aiohttp.DummyCookieJar(),
        # Service addresses are internal: HTTP(S)_PROXY from the environment must not apply.
        trust_env=False,
    )
    try:
        yield session
    finally:
        await session.close()


class ServiceProxy:
    """Sends each public request to the service that owns its path and relays the answer."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        service_urls: dict[str, str],
        settings: GatewaySettings,
    ) -> None:
        self._session = session
        self._service_urls = service_urls
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
    ) -> aiohttp.ClientResponse | None:
        path = request.scope["path"]
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in _forwarded_headers(request, caller_headers)
        ]
        url = URL(self._service_urls[service] + _raw_target(request), encoded=True)
        started = time.perf_counter()
        try:
            upstream = await self._session.request(
                request.method,
                url,
                headers=headers,
                data=body,
                allow_redirects=False,
                skip_auto_headers=NOT_ADDED,
            )
        except TimeoutError as exc:
            UPSTREAM_REQUESTS.labels(service, "timeout").inc()
            log.warning("upstream_timeout", service=service, path=path, error=repr(exc))
            raise GatewayTimeout(f"The {service} service did not answer in time") from exc
        except aiohttp.ClientError as exc:
            # A streamed body is read while it is sent: what stopped it is the true cause.
            if isinstance(exc.__cause__, ProblemError):
                raise exc.__cause__ from None
            if isinstance(exc.__cause__, ClientDisconnect):
                # The caller left while sending the body; nobody is there to read an answer.
                UPSTREAM_REQUESTS.labels(service, "client_disconnected").inc()
                return None
            UPSTREAM_REQUESTS.labels(service, "unreachable").inc()
            log.warning("upstream_unreachable", service=service, path=path, error=repr(exc))
            raise BadGateway(f"The {service} service is unreachable") from exc
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


def _is_small(upstream: aiohttp.ClientResponse) -> bool:
    declared = upstream.headers.get("content-length")
    return declared is not None and declared.isdigit() and int(declared) <= SMALL_BODY_BYTES


async def _read_whole(upstream: aiohttp.ClientResponse, service: str) -> Response:
    """A small answer read at once and sent as one: no streaming task per response."""
    try:
        body = await upstream.read()
    except TimeoutError as exc:
        UPSTREAM_REQUESTS.labels(service, "timeout").inc()
        upstream.close()
        raise GatewayTimeout(f"The {service} service did not answer in time") from exc
    except aiohttp.ClientError as exc:
        log.warning("upstream_body_interrupted", service=service, error=repr(exc))
        upstream.close()
        raise BadGateway(f"The {service} service broke off its answer") from exc
    upstream.release()
    response = Response(body, status_code=upstream.status)
    response.raw_headers = _relayed_headers(upstream)
    return response


class RelayedResponse(StreamingResponse):
    """A service's response streamed to the caller; its connection is released however it ends."""

    def __init__(
        self, upstream: aiohttp.ClientResponse, service: str, release: Callable[[], None]
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
            # Kept for reuse when read to the end; closed when cut short.
            if self._upstream.content.at_eof():
                self._upstream.release()
            else:
                self._upstream.close()


async def _relay_body(upstream: aiohttp.ClientResponse, service: str) -> AsyncIterator[bytes]:
    # Raw bytes: a compressed body stays compressed, matching the Content-Encoding passed on.
    try:
        async for chunk in upstream.content.iter_any():
            yield chunk
    except (aiohttp.ClientError, TimeoutError) as exc:
        # The status line is already sent; aborting the connection is the only honest signal.
        log.warning("upstream_body_interrupted", service=service, error=repr(exc))
        raise


def _relayed_headers(upstream: aiohttp.ClientResponse) -> Headers:
    return [
        (name, value)
        for name, value in _without_connection_headers(upstream.raw_headers)
        if name not in RESPONSE_HEADERS_SET_BY_GATEWAY
    ]


def _raw_target(request: Request) -> str:
    """Path and query exactly as the caller encoded them, so the service sees them unchanged."""
    raw_path: bytes | None = request.scope.get("raw_path")
    path = raw_path.decode("latin-1") if raw_path else request.scope["path"]
    query = request.scope.get("query_string", b"").decode("latin-1")
    return f"{path}?{query}" if query else path


def _forwarded_headers(request: Request, caller_headers: dict[str, str]) -> Headers:
    """The caller's headers minus hop-by-hop, credentials and `X-Kabinet-*`, plus what the
    gateway states."""
    headers = [
        (name, value)
        for name, value in _without_connection_headers(request.headers.raw)
        if name not in REQUEST_HEADERS_SET_BY_GATEWAY
        and not is_caller_header(name)
        and not is_credential_header(name)
    ]
    request_id = current_request_id()
    if request_id:
        headers.append((REQUEST_ID_HEADER.encode(), request_id.encode()))
    # The gateway is the edge: the caller's own X-Forwarded-* claims are replaced, not extended
    # (behind a trusted ingress, uvicorn's --proxy-headers has already set `request.client`).
    if request.client:
        headers.append((b"x-forwarded-for", request.client.host.encode("latin-1")))
    headers.append((b"x-forwarded-proto", request.scope["scheme"].encode()))
    if host := request.headers.get("host"):
        headers.append((b"x-forwarded-host", host.encode("latin-1")))
    headers.extend((name.encode(), value.encode()) for name, value in caller_headers.items())
    return headers


def _without_connection_headers(raw: Iterable[tuple[bytes, bytes]]) -> Headers:
    """Drops hop-by-hop headers, including any the `Connection` header names."""
    pairs = [(name.lower(), value) for name, value in raw]
    named_by_connection = {
        token.strip().lower()
        for name, value in pairs
        if name == b"connection"
        for token in value.split(b",")
    }
    return [
        (name, value)
        for name, value in pairs
        if name not in HOP_BY_HOP_HEADERS and name not in named_by_connection
    ]
