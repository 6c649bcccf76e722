"""The gateway's connections to the services (`gateway.upstream`), against a real local HTTP
server whose answers each test scripts by path: reuse, limits, HEAD, interim answers, chunked
bodies, connections the service closes, timeouts."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httptools
import pytest
import uvloop

from gateway.upstream import Address, UpstreamPool, UpstreamTimeout

OK = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"


class ScriptedServer:
    """Reads HTTP/1.1 requests off each connection and answers each by its path."""

    def __init__(self) -> None:
        self.connections = 0
        self.open_now = 0
        self.most_open = 0
        self.requests: list[tuple[str, bytes, bytes]] = []  # (method, path, body)
        self.server: asyncio.Server | None = None

    async def __aenter__(self) -> "ScriptedServer":
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()

    @property
    def address(self) -> Address:
        assert self.server is not None
        port = self.server.sockets[0].getsockname()[1]
        return Address.of(f"http://127.0.0.1:{port}")

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.open_now += 1
        self.most_open = max(self.most_open, self.open_now)
        try:
            while True:
                request = await self._read_request(reader)
                if request is None:
                    return
                self.requests.append(request)
                method, path, _ = request
                if not await self._answer(method, path, writer):
                    return
        except ConnectionError:
            return
        finally:
            self.open_now -= 1
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader) -> tuple[str, bytes, bytes] | None:
        done: list[bool] = []
        body: list[bytes] = []
        url: list[bytes] = []

        class Callbacks:
            def on_url(self, value: bytes) -> None:
                url.append(value)

            def on_body(self, value: bytes) -> None:
                body.append(value)

            def on_message_complete(self) -> None:
                done.append(True)

        parser = httptools.HttpRequestParser(Callbacks())
        while not done:
            data = await reader.read(65536)
            if not data:
                return None
            parser.feed_data(data)
        return parser.get_method().decode(), b"".join(url), b"".join(body)

    async def _answer(self, method: str, path: bytes, writer: asyncio.StreamWriter) -> bool:
        """Writes the scripted answer; False when the connection is to end."""
        if path == b"/slow":
            await asyncio.sleep(0.05)
        if path == b"/silent":
            await asyncio.sleep(30)
        if path == b"/head":
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 5000\r\n\r\n")
        elif path == b"/continue":
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" + OK)
        elif path == b"/chunked":
            writer.write(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
                b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"
            )
        elif path == b"/close":
            writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()
            return False
        elif path == b"/hang-up":
            # Answers as if keeping the connection, then closes it (an idle timeout).
            writer.write(OK)
            await writer.drain()
            return False
        elif path == b"/echo":
            writer.write(OK)
        else:
            writer.write(OK)
        await writer.drain()
        return True


@contextlib.asynccontextmanager
async def pool_and_server(**settings: float) -> AsyncIterator[tuple[UpstreamPool, ScriptedServer]]:
    options = {"limit": 10, "connect_timeout": 2.0, "read_timeout": 5.0, **settings}
    pool = UpstreamPool(**options)  # type: ignore[arg-type]
    async with ScriptedServer() as server:
        try:
            yield pool, server
        finally:
            await pool.close()


async def fetch(
    pool: UpstreamPool, server: ScriptedServer, path: str, method: str = "GET"
) -> tuple[int, bytes]:
    response = await pool.request(method, server.address, path, [], None)
    try:
        return response.status, await response.read()
    finally:
        response.release()


async def test_one_connection_serves_request_after_request():
    async with pool_and_server() as (pool, server):
        answers = [await fetch(pool, server, "/") for _ in range(5)]
    assert answers == [(200, b"ok")] * 5
    assert server.connections == 1


async def test_a_head_answer_has_no_body_and_its_connection_serves_the_next_request():
    async with pool_and_server() as (pool, server):
        head = await fetch(pool, server, "/head", "HEAD")
        after = await fetch(pool, server, "/")
    assert head == (200, b"")
    assert after == (200, b"ok")
    assert server.connections == 1


async def test_an_interim_answer_is_passed_over_for_the_final_one():
    async with pool_and_server() as (pool, server):
        assert await fetch(pool, server, "/continue") == (200, b"ok")
        assert await fetch(pool, server, "/") == (200, b"ok")
    assert server.connections == 1


async def test_a_chunked_answer_is_read_whole():
    async with pool_and_server() as (pool, server):
        assert await fetch(pool, server, "/chunked") == (200, b"abcdefg")
        assert await fetch(pool, server, "/") == (200, b"ok")
    assert server.connections == 1


async def test_a_connection_the_service_closes_is_never_reused():
    async with pool_and_server() as (pool, server):
        assert await fetch(pool, server, "/close") == (200, b"ok")
        assert await fetch(pool, server, "/hang-up") == (200, b"ok")
        await asyncio.sleep(0.05)  # the service's close arrives
        assert await fetch(pool, server, "/") == (200, b"ok")
    assert server.connections == 3


async def test_more_requests_than_the_limit_wait_their_turn():
    async with pool_and_server(limit=2) as (pool, server):
        answers = await asyncio.gather(*(fetch(pool, server, "/slow") for _ in range(12)))
    assert answers == [(200, b"ok")] * 12
    assert server.most_open == 2


async def test_a_body_is_sent_with_its_length_and_a_stream_in_chunks():
    async def stream() -> AsyncIterator[bytes]:
        yield b"part one, "
        yield b"part two"

    async with pool_and_server() as (pool, server):
        for body in (b'{"a": 1}', stream(), None):
            response = await pool.request("POST", server.address, "/echo", [], body)
            await response.read()
            response.release()
    assert [sent for _, _, sent in server.requests] == [b'{"a": 1}', b"part one, part two", b""]
    assert server.connections == 1


async def test_a_service_that_does_not_answer_in_time_is_a_timeout_and_its_connection_is_dropped():
    async with pool_and_server(read_timeout=0.2) as (pool, server):
        with pytest.raises(UpstreamTimeout):
            await pool.request("GET", server.address, "/silent", [], None)
        assert await fetch(pool, server, "/") == (200, b"ok")
    assert server.connections == 2


async def test_a_connection_idle_for_the_keepalive_is_not_reused():
    async with pool_and_server(keepalive=0.0) as (pool, server):
        assert await fetch(pool, server, "/") == (200, b"ok")
        assert await fetch(pool, server, "/") == (200, b"ok")
    assert server.connections == 2


# The gateway runs under uvloop (uvicorn's choice), whose transports differ from asyncio's.
ON_UVLOOP = [
    test_one_connection_serves_request_after_request,
    test_a_head_answer_has_no_body_and_its_connection_serves_the_next_request,
    test_a_chunked_answer_is_read_whole,
    test_a_connection_the_service_closes_is_never_reused,
    test_more_requests_than_the_limit_wait_their_turn,
    test_a_body_is_sent_with_its_length_and_a_stream_in_chunks,
]


@pytest.mark.parametrize("scenario", ON_UVLOOP, ids=lambda scenario: scenario.__name__[5:])
def test_on_uvloop(scenario: Callable[[], Awaitable[None]]) -> None:
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(scenario())  # type: ignore[arg-type]
