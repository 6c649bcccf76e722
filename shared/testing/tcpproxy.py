"""A TCP proxy a test controls: put it between a service and RabbitMQ, then cut and restore."""

import asyncio
import contextlib

from shared.testing.servers import free_port


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self.connected = True
        self.cuts = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self.refused = 0
        # (marker, forward, reopen): cut when the client sends bytes containing the marker.
        self._cut_on: tuple[bytes, bool, bool] | None = None

    async def start(self) -> "TcpProxy":
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        return self

    async def stop(self) -> None:
        self.connected = False
        self._drop_all()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def cut(self) -> None:
        """Drops every open connection and refuses new ones until `restore()`."""
        self.connected = False
        self.cuts += 1
        self._drop_all()

    def _drop_all(self) -> None:
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    def restore(self) -> None:
        self.connected = True

    def cut_on(self, marker: bytes, *, forward: bool, reopen: bool = False) -> None:
        """Cuts once the client sends bytes containing `marker`: after passing them upstream
        (`forward=True`: they arrive, the answer is lost) or instead of passing them on.
        `reopen=True` accepts new connections again right after the cut."""
        self._cut_on = (marker, forward, reopen)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.connected:
            self.refused += 1
            writer.transport.abort()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._pipes.update({writer, up_writer})
        await asyncio.gather(
            self._pipe(reader, up_writer, upstream=True),
            self._pipe(up_reader, writer),
            return_exceptions=True,
        )
        self._pipes.difference_update({writer, up_writer})

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, upstream: bool = False
    ) -> None:
        try:
            while data := await reader.read(65536):
                trigger = self._cut_on
                if upstream and trigger is not None and trigger[0] in data:
                    self._cut_on = None
                    if trigger[1]:
                        writer.write(data)
                        await writer.drain()
                    self.cut()
                    if trigger[2]:
                        self.restore()
                    return
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
