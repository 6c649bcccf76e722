"""Consumes a service's queue: inbox de-duplication and the handler's effect in one transaction.

Order and stalls (docs/events.md, "Order and failing handlers"): messages are handled one at a
time per producer (a lane per producer, keyed by the AMQP `app_id` the relay sets), so each
producer's events are applied in the order they were committed. When several of a producer's
messages are waiting, they are applied in that order in one transaction, each in a savepoint
with its inbox record, and acknowledged after the commit: one commit (one WAL flush) for the
lot instead of one each, which is what bounds a lane's rate. A handler that fails there is
rolled back alone; the events before it are committed, and it is tried again on its own.

A failing handler is retried in place, with a growing pause, while the producer's later events
wait behind it; after `attempts` tries or `max_stall_seconds`, whichever comes first, the
message goes to the dead-letter queue and the lane moves on. Other producers' lanes never wait
for it. A database outage is not the message's fault: it is retried until the database
answers, never dead-lettered for it.
"""

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import structlog
from aio_pika.abc import AbstractIncomingMessage, AbstractQueue
from prometheus_client import Counter
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.bus.broker import BrokerConnection
from shared.bus.envelope import Envelope, EventPayload
from shared.bus.outbox import Outbox
from shared.bus.tables import BusTables
from shared.bus.topology import Topology, declare_service_queue
from shared.clock import Clock
from shared.config import PlatformSettings

log = structlog.get_logger(__name__)

P = TypeVar("P", bound=EventPayload)
SettingsT = TypeVar("SettingsT", bound=PlatformSettings)
Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]
Parsed = tuple[AbstractIncomingMessage, Envelope, EventPayload, Handler]

CONSUMED = Counter(
    "kabinet_events_consumed_total", "Events taken from the queue", ["service", "type", "outcome"]
)
# The longest pause between two tries while the database is away.
OUTAGE_PAUSE_SECONDS = 5.0


def with_handler_context(
    session: AsyncSession,
    clock: Clock,
    outbox: Outbox | None,
    settings: PlatformSettings | None,
) -> None:
    """What `handler_clock`, `handler_outbox` and `handler_settings` read, put on the session
    an event handler or a scheduled job runs in."""
    session.info.update(clock=clock, outbox=outbox, settings=settings)


def handler_clock(session: AsyncSession) -> Clock:
    """Inside an event handler or a scheduled job (`shared.jobs`): the service's clock (a
    test's ManualClock under test)."""
    clock: Clock = session.info["clock"]
    return clock


def handler_settings(session: AsyncSession, kind: type[SettingsT]) -> SettingsT:
    """Inside an event handler or a scheduled job (`shared.jobs`): the runtime's settings as
    the service's own class, exactly those the service was started with (a test's overrides
    included), like `Runtime.settings_as` — never a fresh read of the environment."""
    settings = session.info.get("settings")
    if not isinstance(settings, kind):
        raise RuntimeError(
            f"this consumer or job runner runs with {type(settings).__name__}, not {kind.__name__}"
        )
    return settings


def handler_outbox(session: AsyncSession) -> Outbox:
    """Inside an event handler or a scheduled job (`shared.jobs`): the service's outbox, to
    publish what the event or the job caused in the same transaction as its effect."""
    outbox: Outbox | None = session.info.get("outbox")
    if outbox is None:
        raise RuntimeError("this consumer or job runner was built without an outbox")
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


def is_outage(error: BaseException) -> bool:
    """The database (or the network to it) is away: no fault of the event being handled."""
    if isinstance(error, TimeoutError):
        return False
    if isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OSError | sa_exc.OperationalError | sa_exc.InterfaceError)


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
        settings: PlatformSettings | None = None,
        prefetch: int = 50,
        retry_delay_seconds: float = 0.5,
        attempts: int = 5,
        max_stall_seconds: float = 10.0,
    ) -> None:
        self.handlers = handlers
        self.inbox = tables.inbox
        self.sessionmaker = sessionmaker
        self.topology = topology
        self.broker = broker
        self.clock = clock
        self.outbox = outbox
        self.settings = settings
        self.prefetch = prefetch
        self.retry_delay_seconds = retry_delay_seconds
        self.attempts = attempts
        self.max_stall_seconds = max_stall_seconds
        # Set once the queue and its bindings exist: from then on no event for us is unroutable.
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Handles messages, one at a time per producer, until stopped."""
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
                await self._dispatch(queue, stop)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("event_consumer_error", error=repr(exc))
                await _wait(stop, 1.0)
            finally:
                if channel is not None and not channel.is_closed:
                    with contextlib.suppress(Exception):
                        await channel.close()

    async def _dispatch(self, queue: AbstractQueue, stop: asyncio.Event) -> None:
        """Hands each message to its producer's lane; returns on stop, raises if a lane failed."""
        closing = asyncio.Event()
        lanes: dict[str, asyncio.Queue[AbstractIncomingMessage | None]] = {}
        workers: dict[str, asyncio.Task[None]] = {}
        async with queue.iterator() as messages:
            stop_task = asyncio.ensure_future(stop.wait())
            try:
                while True:
                    next_message = asyncio.ensure_future(anext(messages))
                    done, _ = await asyncio.wait(
                        {next_message, stop_task, *workers.values()},
                        return_when=asyncio.FIRST_COMPLETED,
                    )
                    if next_message not in done:
                        next_message.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await next_message
                        for worker in workers.values():
                            if worker.done():
                                worker.result()  # a lane's error ends this channel
                        return
                    message = next_message.result()
                    producer = message.app_id or ""
                    if producer not in lanes:
                        lanes[producer] = asyncio.Queue()
                        workers[producer] = asyncio.create_task(
                            self._lane(lanes[producer], closing), name=f"lane-{producer}"
                        )
                    lanes[producer].put_nowait(message)
            except BaseException:
                for worker in workers.values():
                    worker.cancel()
                raise
            finally:
                stop_task.cancel()
                # Each lane finishes the message in hand; the rest return to the queue unacked.
                closing.set()
                for lane in lanes.values():
                    lane.put_nowait(None)
                await asyncio.gather(*workers.values(), return_exceptions=True)

    async def _lane(
        self, lane: "asyncio.Queue[AbstractIncomingMessage | None]", closing: asyncio.Event
    ) -> None:
        while (message := await lane.get()) is not None and not closing.is_set():
            waiting = [message]
            while len(waiting) < self.prefetch and not lane.empty():
                if (more := lane.get_nowait()) is None:
                    lane.put_nowait(None)  # the lane ends after these
                    break
                waiting.append(more)
            await self.handle_many(waiting, closing)

    async def handle(
        self, message: AbstractIncomingMessage, closing: asyncio.Event | None = None
    ) -> None:
        await self.handle_many([message], closing)

    async def handle_many(
        self, messages: list[AbstractIncomingMessage], closing: asyncio.Event | None = None
    ) -> None:
        """Applies one producer's messages in their order: together while they apply, a
        failing one on its own with retries, then the rest together again."""
        parsed = [item for message in messages if (item := await self._parse(message))]
        while parsed:
            if len(parsed) == 1:
                await self._handle_alone(parsed[0], closing)
                return
            outcomes = await self.apply_batch(parsed)
            for item, applied in zip(parsed, outcomes, strict=False):
                await self._settle(item[0], item[1], "applied" if applied else "duplicate")
            if len(outcomes) == len(parsed):
                return
            if closing is not None and closing.is_set():
                return  # the rest go back to the queue unacknowledged
            await self._handle_alone(parsed[len(outcomes)], closing)
            parsed = parsed[len(outcomes) + 1 :]

    async def _parse(self, message: AbstractIncomingMessage) -> Parsed | None:
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
            return None
        if registered is None or payload is None:
            # Routed here by the catalogue, but this version has no handler for it yet: kept in
            # the dead-letter queue for a replay once one exists, never acknowledged unapplied.
            log.error("event_unhandled", event_type=envelope.type, event_id=str(envelope.id))
            CONSUMED.labels(service, envelope.type, "unhandled").inc()
            await message.reject(requeue=False)
            return None
        return message, envelope, payload, registered[1]

    async def _handle_alone(self, item: Parsed, closing: asyncio.Event | None) -> None:
        message, envelope, payload, handler = item
        outcome = await self._apply_with_retries(envelope, payload, handler, closing)
        if outcome is None:  # stopping mid-retry: the broker hands the message out again
            return
        await self._settle(message, envelope, outcome)

    async def _settle(
        self, message: AbstractIncomingMessage, envelope: Envelope, outcome: str
    ) -> None:
        CONSUMED.labels(self.topology.service, envelope.type, outcome).inc()
        if outcome == "dead_lettered":
            await message.reject(requeue=False)
        else:
            await message.ack()

    async def _apply_with_retries(
        self,
        envelope: Envelope,
        payload: EventPayload,
        handler: Handler,
        closing: asyncio.Event | None,
    ) -> str | None:
        """Tries until applied, the tries or the stall bound run out, or the consumer stops."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.max_stall_seconds
        log_ = log.bind(event_id=str(envelope.id), event_type=envelope.type)
        tries = outages = 0
        while True:
            try:
                async with asyncio.timeout_at(deadline):
                    applied = await self.apply(envelope, payload, handler)
                return "applied" if applied else "duplicate"
            except Exception as exc:
                if is_outage(exc):
                    outages += 1
                    pause = min(max(self.retry_delay_seconds, 0.1) * outages, OUTAGE_PAUSE_SECONDS)
                    log_.warning("event_waits_for_database", error=repr(exc), retry_in=pause)
                else:
                    outages = 0
                    tries += 1
                    pause = self.retry_delay_seconds * 2 ** (tries - 1)
                    last = tries >= self.attempts or loop.time() + pause >= deadline
                    log_.exception("event_handler_failed", attempt=tries, dead_letter=last)
                    CONSUMED.labels(self.topology.service, envelope.type, "failed").inc()
                    if last:
                        return "dead_lettered"
            if await _wait(closing, pause):
                return None
            if outages:
                # The stall bound counts the handler's failures, not the database's absence.
                deadline = loop.time() + self.max_stall_seconds

    async def apply(self, envelope: Envelope, payload: EventPayload, handler: Handler) -> bool:
        """Records the event id and runs the handler in one transaction; False if seen before."""
        async with self.sessionmaker() as session, session.begin():
            with_handler_context(session, self.clock, self.outbox, self.settings)
            return await self._apply_in(session, envelope, payload, handler)

    async def apply_batch(self, items: list[Parsed]) -> list[bool]:
        """Applies events in order in one transaction, each in a savepoint, and commits those
        before the first that fails: their applied/duplicate flags, in order. The failing one
        is rolled back alone and logged as its first try; a database outage, a commit that
        fails or the stall bound passing commits nothing (an empty list)."""
        outcomes: list[bool] = []
        try:
            async with (
                asyncio.timeout(self.max_stall_seconds),
                self.sessionmaker() as session,
                session.begin(),
            ):
                with_handler_context(session, self.clock, self.outbox, self.settings)
                for _, envelope, payload, handler in items:
                    try:
                        async with session.begin_nested():
                            applied = await self._apply_in(session, envelope, payload, handler)
                    except Exception as exc:
                        if is_outage(exc):
                            raise
                        log.exception(
                            "event_handler_failed",
                            event_id=str(envelope.id),
                            event_type=envelope.type,
                            attempt=1,
                            dead_letter=False,
                        )
                        CONSUMED.labels(self.topology.service, envelope.type, "failed").inc()
                        break
                    outcomes.append(applied)
                    # The next handler starts from the database, as in a transaction of its own.
                    session.expunge_all()
        except Exception as exc:
            log.warning("event_batch_not_applied", events=len(items), error=repr(exc))
            return []
        return outcomes

    async def _apply_in(
        self, session: AsyncSession, envelope: Envelope, payload: EventPayload, handler: Handler
    ) -> bool:
        first_time = await session.scalar(
            insert(self.inbox)
            .values(event_id=envelope.id, event_type=envelope.type, received_at=self.clock.now())
            .on_conflict_do_nothing(index_elements=[self.inbox.c.event_id])
            .returning(self.inbox.c.event_id)
        )
        if first_time is None:
            return False
        await handler(session, payload, envelope)
        return True


async def _wait(event: asyncio.Event | None, seconds: float) -> bool:
    """Sleeps up to `seconds`; True if the event was set meanwhile."""
    if event is None:
        await asyncio.sleep(seconds)
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
    return event.is_set()
