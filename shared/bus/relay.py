"""Publishes outbox rows in order, with publisher confirms and `mandatory`; safe with replicas.

Rows go out one at a time, each confirmed before the next is sent, and a batch stops at the
first row that fails: a later event can never reach a queue before an earlier one. A row the
broker returns as unroutable (no queue bound for its type) is such a failure: it stays pending,
is counted, and is tried again after a backoff, with the catalogue's queues declared again.
"""

import asyncio
import contextlib
import json

import aio_pika
import aiormq.exceptions
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection, AbstractExchange
from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.broker import BrokerConnection
from shared.bus.outbox import Outbox
from shared.bus.topology import Topology, declare_catalogue, declare_exchanges
from shared.clock import Clock
from shared.db import advisory_key

log = structlog.get_logger(__name__)

PUBLISHED = Counter("kabinet_outbox_published_total", "Outbox events confirmed", ["producer"])
UNROUTABLE = Counter(
    "kabinet_outbox_unroutable_total",
    "Publishes the broker returned because no queue was bound for the type (the row stays pending)",
    ["producer", "type"],
)
FAILED = Counter(
    "kabinet_outbox_publish_failures_total",
    "Publishes that failed and will be retried",
    ["producer"],
)
MAX_BACKOFF_SECONDS = 5.0


class OutboxRelay:
    def __init__(
        self,
        *,
        outbox: Outbox,
        sessionmaker: async_sessionmaker[AsyncSession],
        topology: Topology,
        broker: BrokerConnection,
        clock: Clock,
        batch_size: int = 200,
        poll_seconds: float = 0.5,
    ) -> None:
        self.outbox = outbox
        self.sessionmaker = sessionmaker
        self.topology = topology
        self.broker = broker
        self.clock = clock
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        table = outbox.table
        # One relay at a time per producer keeps the order; the row locks keep rows single-sent.
        self.lock_key = advisory_key(f"outbox:{table.schema}.{table.name}")
        self._channel: AbstractChannel | None = None
        self._exchange: AbstractExchange | None = None
        # After a failed row the relay waits (event-loop time) before trying it again.
        self._retry_at = 0.0
        self._failures = 0
        # Set once every consumer's queue and bindings have been declared.
        self.ready = asyncio.Event()

    async def _exchange_for_publishing(self) -> AbstractExchange:
        if self._channel is None or self._channel.is_closed or self._exchange is None:
            await self.close()
            connection = await self.broker.get()
            await self._declare_catalogue(connection)
            self._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await declare_exchanges(self._channel, self.topology)
        return self._exchange

    async def _declare_catalogue(self, connection: AbstractConnection) -> None:
        """Every consumer's queue, before the first publish. On a channel of its own: a queue
        someone declared differently must not stop the publishing (`mandatory` still guards).
        It only adds bindings: this process may be of an older version than the catalogue on
        the broker (`shared.bus.topology`)."""
        try:
            channel = await connection.channel()
            try:
                await declare_catalogue(channel, self.topology)
            finally:
                if not channel.is_closed:
                    await channel.close()
        except aiormq.exceptions.AMQPChannelError as exc:
            log.error("bus_topology_not_declared", error=repr(exc))
        self.ready.set()

    async def close(self) -> None:
        """Closes the publishing channel (a dropped channel would linger on the connection)."""
        channel, self._channel, self._exchange = self._channel, None, None
        if channel is not None and not channel.is_closed:
            with contextlib.suppress(Exception):
                await channel.close()

    def _held_back(self) -> bool:
        return asyncio.get_running_loop().time() < self._retry_at

    def _back_off(self) -> float:
        self._failures += 1
        delay = min(self.poll_seconds * 2 ** (self._failures - 1), MAX_BACKOFF_SECONDS)
        self._retry_at = asyncio.get_running_loop().time() + delay
        return delay

    async def publish_pending(self) -> int:
        """Sends one batch in order; returns how many rows were confirmed and marked published."""
        if self._held_back():
            return 0
        table = self.outbox.table
        # Reach the broker before taking any row lock, so an outage never holds the outbox.
        async with asyncio.timeout(10):
            exchange = await self._exchange_for_publishing()
        async with self.sessionmaker() as session, session.begin():
            if not await session.scalar(select(func.pg_try_advisory_xact_lock(self.lock_key))):
                return 0
            rows = (
                await session.execute(
                    select(table.c.seq, table.c.event_id, table.c.event_type, table.c.envelope)
                    .where(table.c.state == "pending")
                    .order_by(table.c.seq)
                    .limit(self.batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            sent: list[int] = []
            failure: tuple[Row, BaseException] | None = None
            for row in rows:
                try:
                    await self._publish(exchange, row)
                except Exception as exc:
                    failure = (row, exc)
                    break
                sent.append(row.seq)
            if sent:
                await session.execute(
                    update(table)
                    .where(table.c.seq.in_(sent))
                    .values(
                        state="published",
                        published_at=self.clock.now(),
                        attempts=table.c.attempts + 1,
                    )
                )
                PUBLISHED.labels(self.outbox.producer).inc(len(sent))
            if failure is not None:
                await self._record_failure(session, *failure)
            else:
                self._failures = 0
            return len(sent)

    async def _record_failure(self, session: AsyncSession, row: Row, exc: BaseException) -> None:
        """The row stays pending and holds the rows after it, so none overtakes it."""
        table = self.outbox.table
        unroutable = isinstance(exc, aiormq.exceptions.PublishError)
        error = f"unroutable: no queue is bound for {row.event_type}" if unroutable else repr(exc)
        await session.execute(
            update(table)
            .where(table.c.seq == row.seq)
            .values(attempts=table.c.attempts + 1, last_error=error[:1000])
        )
        retry_in = self._back_off()
        if unroutable:
            UNROUTABLE.labels(self.outbox.producer, row.event_type).inc()
            log.warning(
                "event_unroutable", event_type=row.event_type, seq=row.seq, retry_in=retry_in
            )
        else:
            FAILED.labels(self.outbox.producer).inc()
            log.warning("outbox_publish_failed", seq=row.seq, error=repr(exc), retry_in=retry_in)
        # A fresh channel next time: it declares the catalogue's queues again, and a channel
        # the failure left in doubt is closed rather than reused.
        await self.close()

    async def _publish(self, exchange: AbstractExchange, row: Row) -> None:
        envelope = row.envelope
        message = aio_pika.Message(
            body=_json_bytes(envelope),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=str(row.event_id),
            type=row.event_type,
            correlation_id=envelope.get("correlation_id"),
            app_id=self.outbox.producer,
        )
        await exchange.publish(message, routing_key=row.event_type, mandatory=True, timeout=10)

    async def run(self, stop: asyncio.Event) -> None:
        """Publishes until stopped; a broker outage only delays, with a capped backoff."""
        backoff = self.poll_seconds
        while not stop.is_set():
            try:
                sent = await self.publish_pending()
                backoff = self.poll_seconds
            except Exception as exc:  # broker or database away: wait and try again
                log.warning("outbox_relay_error", error=repr(exc), retry_in=backoff)
                await self.close()
                await _wait_any(stop, timeout=backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)
                continue
            if sent == self.batch_size:
                continue
            self.outbox.committed.clear()
            wait = self.poll_seconds
            if self._held_back():
                wait = self._retry_at - asyncio.get_running_loop().time()
            await _wait_any(stop, self.outbox.committed, timeout=wait)
        await self.close()


def _json_bytes(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


async def _wait_any(*events: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await w
