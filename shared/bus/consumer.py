"""Consumes a service's queue: inbox de-duplication and the handler's effect in one transaction."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.broker import BrokerConnection
from shared.bus.envelope import Envelope, EventPayload
from shared.bus.outbox import Outbox
from shared.bus.tables import BusTables
from shared.bus.topology import Topology, declare_service_queue
from shared.clock import Clock

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=EventPayload)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]

CONSUMED = Counter(
    "kabinet_events_consumed_total", "Events taken from the queue", ["service", "type", "outcome"]
)


def handler_clock(session: AsyncSession) -> Clock:
    """Inside a handler: the service's clock (a test's ManualClock under test)."""
    clock: Clock = session.info["clock"]
    return clock


def handler_outbox(session: AsyncSession) -> Outbox:
    """Inside a handler: the service's outbox, to publish what the event caused in the same
    transaction as its effect."""
    outbox: Outbox | None = session.info.get("outbox")
    if outbox is None:
        raise RuntimeError("this consumer was built without an outbox")
    return outbox


class EventHandlers:
    """The events a service handles: `@handlers.on(LicenseLapsed) async def f(session, ev, env)`."""

    def __init__(self) -> None:
        self._by_type: dict[str, tuple[type[EventPayload], Handler]] = {}

    def on(self, payload_type: type[P]) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self._by_type[payload_type.event_type] = (payload_type, fn)
            return fn

        return register

    @property
    def event_types(self) -> list[str]:
        return sorted(self._by_type)

    def get(self, event_type: str) -> tuple[type[EventPayload], Handler] | None:
        return self._by_type.get(event_type)


class EventConsumer:
    def __init__(
        self,
        *,
        handlers: EventHandlers,
        tables: BusTables,
        sessionmaker: async_sessionmaker[AsyncSession],
        topology: Topology,
        broker: BrokerConnection,
        clock: Clock,
        outbox: Outbox | None = None,
        prefetch: int = 50,
        retry_delay_seconds: float = 0.5,
    ) -> None:
        self.handlers = handlers
        self.inbox = tables.inbox
        self.sessionmaker = sessionmaker
        self.topology = topology
        self.broker = broker
        self.clock = clock
        self.outbox = outbox
        self.prefetch = prefetch
        self.retry_delay_seconds = retry_delay_seconds
        # Set once the queue and its bindings exist: from then on no event for us is unroutable.
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Handles messages one at a time (keeping each producer's order) until stopped."""
        while not stop.is_set():
            channel = None
            try:
                connection = await self.broker.get()
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=self.prefetch)
                queue = await declare_service_queue(
                    channel, self.topology, self.handlers.event_types
                )
                self.ready.set()
                async with queue.iterator() as messages:
                    stop_task = asyncio.ensure_future(stop.wait())
                    try:
                        while not stop.is_set():
                            next_message = asyncio.ensure_future(anext(messages))
                            done, _ = await asyncio.wait(
                                {next_message, stop_task}, return_when=asyncio.FIRST_COMPLETED
                            )
                            if next_message not in done:
                                next_message.cancel()
                                break
                            await self.handle(next_message.result())
                    finally:
                        stop_task.cancel()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event_consumer_error", error=repr(exc))
                await asyncio.sleep(1)
            finally:
                if channel is not None and not channel.is_closed:
                    await channel.close()

    async def handle(self, message: AbstractIncomingMessage) -> None:
        service = self.topology.service
        try:
            envelope = Envelope.model_validate_json(message.body)
            registered = self.handlers.get(envelope.type)
            payload = registered[0].model_validate(envelope.data) if registered else None
        except ValidationError as exc:
            # Poison: no number of retries will parse it. Straight to the dead-letter queue.
            log.error("event_rejected", message_id=message.message_id, error=str(exc)[:500])
            CONSUMED.labels(service, message.type or "unknown", "rejected").inc()
            await message.reject(requeue=False)
            return
        if registered is None or payload is None:
            CONSUMED.labels(service, envelope.type, "ignored").inc()
            await message.ack()
            return
        log_ = log.bind(event_id=str(envelope.id), event_type=envelope.type)
        try:
            applied = await self.apply(envelope, payload, registered[1])
        except Exception:
            delivery_count = (message.headers or {}).get("x-delivery-count")
            deliveries = (delivery_count if isinstance(delivery_count, int) else 0) + 1
            log_.exception("event_handler_failed", delivery=deliveries)
            CONSUMED.labels(service, envelope.type, "failed").inc()
            # A short pause so a passing outage does not burn the delivery allowance at once.
            await asyncio.sleep(self.retry_delay_seconds * min(deliveries, 10))
            await message.nack(requeue=True)
            return
        CONSUMED.labels(service, envelope.type, "applied" if applied else "duplicate").inc()
        await message.ack()

    async def apply(self, envelope: Envelope, payload: EventPayload, handler: Handler) -> bool:
        """Records the event id and runs the handler in one transaction; False if seen before."""
        async with self.sessionmaker() as session, session.begin():
            session.info.update(clock=self.clock, outbox=self.outbox)
            first_time = await session.scalar(
                insert(self.inbox)
                .values(
                    event_id=envelope.id, event_type=envelope.type, received_at=self.clock.now()
                )
                .on_conflict_do_nothing(index_elements=[self.inbox.c.event_id])
                .returning(self.inbox.c.event_id)
            )
            if first_time is None:
                return False
            await handler(session, payload, envelope)
            return True
