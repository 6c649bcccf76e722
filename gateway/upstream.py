"""Keep-alive HTTP/1.1 connections from the gateway to the services, parsed by httptools.

Every public request crosses this hop, so its CPU cost is the gateway's: per forwarded request,
on this hop alone, aiohttp's client spent ~58 µs and this one ~20 µs (docs/benchmarks.md).
It does only what the hop needs: plain HTTP/1.1 (or TLS) to a few configured service
addresses, the request's body sent as bytes or chunk by chunk, the answer's headers as
received and its body read whole or relayed chunk by chunk with back-pressure, a connect
timeout and a read timeout (until the headers, and between body chunks), and a bounded pool
of connections kept for `KEEPALIVE_SECONDS`, shorter than the services' own keep-alive, so a
connection is never reused just as the service closes it. No redirects, cookies, proxies from
the environment or decompression: the answer is relayed as the service sent it.
"""

import asyncio
import collections
import contextlib
import functools
import socket
import ssl
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import cast
from urllib.parse import urlsplit

import httptools

# Below the services' own keep-alive (uvicorn: 5 s), so an idle connection is dropped here
# first and never reused just as the service closes it.
KEEPALIVE_SECONDS = 4.0
# An answer's body buffered beyond this stops reading from the service until it is relayed.
_HIGH_WATER = 256 * 1024
# Methods whose answers have no body, whatever their headers say.
_NO_BODY_ANSWER = frozenset({"HEAD"})
# Methods that carry a body: sent with `content-length: 0` when there is none.
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class UpstreamError(Exception):
    """The service could not be reached, or broke off the exchange."""


class UpstreamTimeout(UpstreamError):
    """The service did not connect, or did not answer, in time."""


@dataclass(frozen=True)
class Address:
    """Where a service listens: `Address.of("http://licensing:8000")`."""

    host: str
    port: int
    tls: bool

    @classmethod
    def of(cls, url: str) -> "Address":
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"a service address is http(s)://host[:port], not {url!r}")
        tls = parts.scheme == "https"
        return cls(parts.hostname, parts.port or (443 if tls else 80), tls)

    @functools.cached_property
    def host_line(self) -> str:
        """The `Host` header line of every request to this address."""
        default = 443 if self.tls else 80
        host = self.host if self.port == default else f"{self.host}:{self.port}"
        return f"host: {host.encode('idna').decode('ascii')}\r\n"


class _Connection(asyncio.Protocol):
    """One connection to a service: one exchange at a time."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = 0.0
        self._error: Exception | None = None
        self._writable: asyncio.Future[None] | None = None
        self._exchange: _Exchange | None = None

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but behave as one.
        self.transport = cast(asyncio.Transport, transport)
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        exchange = self._exchange
        if exchange is None:
            # Nothing was asked: a service speaking out of turn cannot be trusted with the next.
            self.abort()
            return
        try:
            exchange.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamError(f"the service's answer could not be read: {exc}"))
            self.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        reason = f": {exc}" if exc else ""
        self._fail(UpstreamError(f"the service closed the connection{reason}"))
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)

    def pause_writing(self) -> None:
        self._writable = self._loop.create_future()

    def resume_writing(self) -> None:
        if self._writable is not None and not self._writable.done():
            self._writable.set_result(None)
        self._writable = None

    # Used by the pool and the exchange
    def begin(self, exchange: "_Exchange") -> None:
        self._exchange = exchange

    def end(self) -> None:
        self._exchange = None
        self.idle_since = time.monotonic()

    def write(self, data: bytes) -> None:
        if self.closed or self.transport is None:
            raise self._error or UpstreamError("the service closed the connection")
        self.transport.write(data)

    async def drain(self) -> None:
        if self._writable is not None:
            await self._writable
        if self.closed:
            raise self._error or UpstreamError("the service closed the connection")

    def pause_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.pause_reading()

    def resume_reading(self) -> None:
        if self.transport is not None and not self.closed:
            self.transport.resume_reading()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def _fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
        if self._exchange is not None:
            self._exchange.fail(error)


@dataclass(eq=False)
class _Exchange:
    """One request's answer as the parser delivers it (httptools calls the `on_*` methods)."""

    connection: _Connection
    head_only: bool
    parser: httptools.HttpResponseParser = field(init=False)
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    status: int = 0
    keep_alive: bool = False
    complete: bool = False
    error: Exception | None = None
    chunks: collections.deque[bytes] = field(default_factory=collections.deque)
    buffered: int = 0
    paused: bool = False
    _waiter: "asyncio.Future[object] | None" = None
    _headers_done: bool = False

    def __post_init__(self) -> None:
        self.parser = httptools.HttpResponseParser(self)

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self.parser.get_status_code()
        if 100 <= self.status < 200 and self.status != 101:
            # An interim answer (100 Continue): the final one follows on the same connection.
            self.headers.clear()
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._headers_done = True
        if self.head_only:
            # No body follows an answer to HEAD, whatever its Content-Length says.
            self.complete = True
        self._wake()

    def on_body(self, body: bytes) -> None:
        if self.complete:
            return
        self.chunks.append(body)
        self.buffered += len(body)
        if self.buffered > _HIGH_WATER and not self.paused:
            self.paused = True
            self.connection.pause_reading()
        self._wake()

    def on_message_complete(self) -> None:
        if not self._headers_done:
            return  # the end of an interim answer
        self.complete = True
        self._wake()

    def fail(self, error: Exception) -> None:
        if not self.complete:
            self.error = error
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def wait(self, timeout: float, ready: Callable[[], bool]) -> None:
        """Until `ready()`, the exchange failed, or `timeout` seconds pass without news."""
        while not ready():
            if self.error is not None:
                raise self.error
            loop = asyncio.get_running_loop()
            self._waiter = waiter = loop.create_future()
            timer = loop.call_later(timeout, _expire, waiter)
            try:
                await waiter
            finally:
                timer.cancel()
                self._waiter = None
            if waiter.result() is _EXPIRED:
                raise UpstreamTimeout(f"the service sent nothing for {timeout:g} s")

    @property
    def has_headers(self) -> bool:
        return self._headers_done

    @property
    def has_news(self) -> bool:
        return bool(self.chunks) or self.complete

    def take(self) -> bytes:
        data = b"".join(self.chunks) if len(self.chunks) != 1 else self.chunks[0]
        self.chunks.clear()
        self.buffered = 0
        if self.paused:
            self.paused = False
            self.connection.resume_reading()
        return data


_EXPIRED = object()


def _expire(waiter: "asyncio.Future[object]") -> None:
    if not waiter.done():
        waiter.set_result(_EXPIRED)


class UpstreamResponse:
    """A service's answer: status and headers now, the body read whole or chunk by chunk.

    `release()` gives the connection back for the next request when the body was read to its
    end (else it is closed); call it however the relay ends.
    """

    def __init__(self, pool: "UpstreamPool", address: Address, exchange: _Exchange) -> None:
        self._pool = pool
        self._address = address
        self._exchange = exchange
        self._released = False
        self.status = exchange.status
        self.headers = exchange.headers

    @property
    def content_length(self) -> int | None:
        for name, value in self.headers:
            if name == b"content-length":
                return int(value) if value.isdigit() else None
        return None

    @property
    def at_eof(self) -> bool:
        return self._exchange.complete and not self._exchange.chunks

    async def read(self) -> bytes:
        """The whole body."""
        exchange = self._exchange
        parts = []
        while True:
            await exchange.wait(self._pool.read_timeout, lambda: exchange.has_news)
            parts.append(exchange.take())
            if exchange.complete:
                return b"".join(parts)

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives; reading from the service waits while a chunk is relayed."""
        exchange = self._exchange
        while True:
            await exchange.wait(self._pool.read_timeout, lambda: exchange.has_news)
            data = exchange.take()
            if data:
                yield data
            if exchange.complete:
                return

    def release(self) -> None:
        if self._released:
            return
        self._released = True
        exchange = self._exchange
        reusable = self.at_eof and exchange.keep_alive
        self._pool.give_back(self._address, exchange.connection, reusable=reusable)


class UpstreamPool:
    """At most `limit` connections to the services in all; a request over it waits its turn."""

    def __init__(
        self,
        *,
        limit: int,
        connect_timeout: float,
        read_timeout: float,
        keepalive: float = KEEPALIVE_SECONDS,
    ) -> None:
        self.limit = limit
        self.keepalive = keepalive
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._idle: dict[Address, list[_Connection]] = {}
        self._open = 0
        self._turns: collections.deque[asyncio.Future[None]] = collections.deque()
        self._tls: ssl.SSLContext | None = None

    async def request(
        self,
        method: str,
        address: Address,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | AsyncIterator[bytes] | None,
    ) -> UpstreamResponse:
        """Sends the request and waits for the answer's headers.

        An exception raised by a streamed `body` (the caller's upload stopping) ends the
        exchange and is raised as it is; the service's failures are `UpstreamError`s.
        """
        connection = await self._take(address)
        exchange = _Exchange(connection, head_only=method in _NO_BODY_ANSWER)
        connection.begin(exchange)
        try:
            head = _head(method, address, target, headers, body)
            if isinstance(body, bytes):
                # One write, so the service reads the request in one piece.
                connection.write(head + body)
            else:
                connection.write(head)
                if body is not None:
                    await _send_chunked(connection, body)
            await exchange.wait(self.read_timeout, lambda: exchange.has_headers)
        except BaseException:
            self.give_back(address, connection, reusable=False)
            raise
        return UpstreamResponse(self, address, exchange)

    def give_back(self, address: Address, connection: _Connection, *, reusable: bool) -> None:
        connection.end()
        if reusable and not connection.closed:
            self._idle.setdefault(address, []).append(connection)
        else:
            connection.abort()
            self._open -= 1
        self._next_turn()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.abort()
                self._open -= 1
        self._idle.clear()

    async def _take(self, address: Address) -> _Connection:
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            if not connection.closed and now - connection.idle_since < self.keepalive:
                return connection
            connection.abort()
            self._open -= 1
        while self._open >= self.limit and not self._close_one_idle():
            turn = asyncio.get_running_loop().create_future()
            self._turns.append(turn)
            try:
                await turn
            except BaseException:
                if turn.done() and not turn.cancelled():
                    self._next_turn()  # handed a turn it will not use: pass it on
                raise
            idle = self._idle.get(address)
            if idle:
                return await self._take(address)
        self._open += 1
        try:
            return await self._connect(address)
        except BaseException:
            self._open -= 1
            self._next_turn()
            raise

    def _close_one_idle(self) -> bool:
        """Frees a place held by an idle connection to another service; False when none is."""
        for connections in self._idle.values():
            if connections:
                connections.pop(0).abort()
                self._open -= 1
                return True
        return False

    def _next_turn(self) -> None:
        while self._turns:
            turn = self._turns.popleft()
            if not turn.done():
                turn.set_result(None)
                return

    async def _connect(self, address: Address) -> _Connection:
        loop = asyncio.get_running_loop()
        tls = None
        if address.tls:
            tls = self._tls = self._tls or ssl.create_default_context()
        try:
            async with asyncio.timeout(self.connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: _Connection(loop), address.host, address.port, ssl=tls
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no connection within {self.connect_timeout:g} s") from exc
        except OSError as exc:
            raise UpstreamError(f"no connection: {exc}") from exc
        return connection


def _head(
    method: str,
    address: Address,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes | AsyncIterator[bytes] | None,
) -> bytes:
    if isinstance(body, bytes):
        length = f"content-length: {len(body)}\r\n"
    elif body is not None:
        length = "transfer-encoding: chunked\r\n"
    else:
        length = "content-length: 0\r\n" if method in _BODY_METHODS else ""
    lines = "".join([f"{name}: {value}\r\n" for name, value in headers])
    return f"{method} {target} HTTP/1.1\r\n{address.host_line}{lines}{length}\r\n".encode("latin-1")


async def _send_chunked(connection: _Connection, body: AsyncIterator[bytes]) -> None:
    async for chunk in body:
        if chunk:
            connection.write(b"%x\r\n%b\r\n" % (len(chunk), chunk))
            await connection.drain()
    connection.write(b"0\r\n\r\n")
