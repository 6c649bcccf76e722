"""Publishes outbox rows in order, with publisher confirms and `mandatory`; safe with replicas."""

import asyncio
import contextlib
import json

import aio_pika
import aiormq.exceptions
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange
from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.broker import BrokerConnection
from shared.bus.outbox import Outbox
from shared.bus.topology import Topology, declare_exchanges
from shared.clock import Clock
from shared.db import advisory_key

log = structlog.get_logger(__name__)

PUBLISHED = Counter("kabinet_outbox_published_total", "Outbox events confirmed", ["producer"])
UNROUTABLE = Counter(
    "kabinet_outbox_unroutable_total", "Outbox events no queue was bound for", ["producer"]
)


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

    async def _exchange_for_publishing(self) -> AbstractExchange:
        if self._channel is None or self._channel.is_closed or self._exchange is None:
            connection = await self.broker.get()
            self._channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await declare_exchanges(self._channel, self.topology)
        return self._exchange

    async def close(self) -> None:
        if self._channel is not None and not self._channel.is_closed:
            await self._channel.close()
        self._channel = self._exchange = None

    async def publish_pending(self) -> int:
        """Sends one batch; returns how many rows left the pending state."""
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
            if not rows:
                return 0
            # Frames go out in order on one channel; confirms are awaited together.
            results = await asyncio.gather(
                *(self._publish(exchange, row) for row in rows), return_exceptions=True
            )
            now = self.clock.now()
            done = 0
            for row, result in zip(rows, results, strict=True):
                if isinstance(result, aiormq.exceptions.PublishError):
                    state = "unroutable"
                    UNROUTABLE.labels(self.outbox.producer).inc()
                    log.warning("event_unroutable", event_type=row.event_type, seq=row.seq)
                elif isinstance(result, BaseException):
                    # Stop at the first failure so that later events never overtake it.
                    await session.execute(
                        update(table)
                        .where(table.c.seq == row.seq)
                        .values(attempts=table.c.attempts + 1, last_error=repr(result)[:1000])
                    )
                    self._channel = None
                    log.warning("outbox_publish_failed", seq=row.seq, error=repr(result))
                    break
                else:
                    state = "published"
                    PUBLISHED.labels(self.outbox.producer).inc()
                await session.execute(
                    update(table)
                    .where(table.c.seq == row.seq)
                    .values(state=state, published_at=now, attempts=table.c.attempts + 1)
                )
                done += 1
            return done

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
                self._channel = None
                await _wait_any(stop, timeout=backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if sent == self.batch_size:
                continue
            self.outbox.committed.clear()
            await _wait_any(stop, self.outbox.committed, timeout=self.poll_seconds)
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
