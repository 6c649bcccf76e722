"""One robust AMQP connection per process, made on first use and shared by relay and consumer."""

import asyncio

import aio_pika
from aio_pika.abc import AbstractRobustConnection


class BrokerConnection:
    def __init__(self, amqp_url: str, name: str) -> None:
        self.amqp_url = amqp_url
        self.name = name
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    async def get(self) -> AbstractRobustConnection:
        async with self._lock:
            if self._connection is None:
                # Fails fast when the broker is away; callers retry with their own backoff,
                # and once made, the robust connection reconnects by itself.
                self._connection = await aio_pika.connect_robust(
                    self.amqp_url,
                    client_properties={"connection_name": self.name},
                    reconnect_interval=1,
                )
            return self._connection

    @property
    def is_ready(self) -> bool:
        return self._connection is not None and not self._connection.is_closed

    async def close(self) -> None:
        async with self._lock:
            if self._connection is not None:
                await self._connection.close()
                self._connection = None
