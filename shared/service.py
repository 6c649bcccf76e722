"""The one way a Kabinet service is assembled: app, lifespan, probes, metrics, bus, jobs."""

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, TypeVar

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from sqlalchemy import MetaData, Table, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth import CallerMiddleware
from shared.bus.broker import BrokerConnection
from shared.bus.consumer import EventConsumer, EventHandlers
from shared.bus.housekeeping import bus_housekeeping
from shared.bus.outbox import Outbox
from shared.bus.relay import OutboxRelay
from shared.bus.tables import BusTables
from shared.bus.topology import Topology
from shared.clock import Clock, SystemClock
from shared.config import PlatformSettings
from shared.db import Reader, create_engine, create_sessionmaker
from shared.idempotency import IdempotencyMiddleware, idempotency_housekeeping
from shared.jobs import Job, JobRunner
from shared.observability import (
    NO_TELEMETRY,
    ObservabilityMiddleware,
    configure_logging,
    metrics_endpoint,
)
from shared.problems import install_problem_handlers
from shared.storable import StorableTextMiddleware

log = structlog.get_logger(__name__)

SettingsT = TypeVar("SettingsT", bound=PlatformSettings)


@dataclass(frozen=True)
class Tag:
    """A domain of the public API as a partner looks for it, with a one-line description.

    Every route's tag must be declared in its service's `ServiceDefinition.tags`; the
    declarations become the headings of Swagger UI and of the gateway's merged document.
    """

    name: str
    description: str

    def __post_init__(self) -> None:
        if not self.description.strip():
            raise ValueError(f"tag {self.name!r} needs a description")

    def openapi(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description}


@dataclass
class ServiceDefinition:
    """What makes one service different from another; everything else is the same."""

    name: str
    description: str
    metadata: MetaData
    bus: BusTables
    # The domains its routes are tagged with, in the order a partner should read them.
    tags: list[Tag] = field(default_factory=list)
    routers: list[APIRouter] = field(default_factory=list)
    handlers: EventHandlers = field(default_factory=EventHandlers)
    jobs: list[Job] = field(default_factory=list)
    # Where partner calls' Idempotency-Key answers are kept (shared.idempotency).
    idempotency: Table | None = None
    # Run once the runtime exists, before the first request (seeding, first admin, keys).
    startup: list[Callable[["Runtime"], Awaitable[None]]] = field(default_factory=list)


def operation_id(route: APIRoute) -> str:
    """Clean OpenAPI operation ids (`sign_in_login`), unique across the merged document."""
    tag = str(route.tags[0]) if route.tags else "default"
    return f"{re.sub(r'[^0-9a-z]+', '_', tag.lower()).strip('_')}_{route.name}"


def check_routers(definition: ServiceDefinition) -> None:
    """Every router spells whole paths, and every documented route is under a declared tag."""
    declared = {tag.name for tag in definition.tags}
    for router in definition.routers:
        if router.prefix:
            raise ValueError(
                f"{definition.name}: a router has prefix {router.prefix!r}; "
                "spell the whole path on each route instead"
            )
        for route in router.routes:
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            if not route.tags or any(str(tag) not in declared for tag in route.tags):
                raise ValueError(
                    f"{definition.name}: {sorted(route.methods or ())} {route.path} is tagged "
                    f"{route.tags}; give its router a domain tag and declare it as "
                    "Tag(name, description) in the ServiceDefinition's tags"
                )


class Runtime:
    """The process-wide objects of one running service, kept on `app.state.runtime`."""

    def __init__(
        self, definition: ServiceDefinition, settings: PlatformSettings, clock: Clock
    ) -> None:
        self.definition = definition
        self.settings = settings
        self.clock = clock
        self.engine = create_engine(settings.database_url, pool_size=settings.db_pool_size)
        self.sessionmaker = create_sessionmaker(self.engine)
        self.reader = Reader(self.engine, size=settings.db_reader_pool_size)
        self.topology = Topology.of(definition.name, settings)
        self.broker = BrokerConnection(settings.amqp_url, f"kabinet-{definition.name}")
        self.outbox = Outbox(definition.bus, definition.name, clock)
        self.relay = OutboxRelay(
            outbox=self.outbox,
            sessionmaker=self.sessionmaker,
            topology=self.topology,
            broker=self.broker,
            clock=clock,
            batch_size=settings.outbox_batch_size,
            poll_seconds=settings.outbox_poll_seconds,
        )
        self.consumer = EventConsumer(
            handlers=definition.handlers,
            tables=definition.bus,
            sessionmaker=self.sessionmaker,
            topology=self.topology,
            broker=self.broker,
            clock=clock,
            outbox=self.outbox,
            settings=settings,
            retry_delay_seconds=settings.bus_retry_delay_seconds,
            attempts=settings.bus_delivery_limit,
            max_stall_seconds=settings.bus_max_stall_seconds,
        )
        self.jobs = JobRunner(
            service=definition.name,
            jobs=[
                *definition.jobs,
                bus_housekeeping(definition.bus, settings.bus_retention_days),
                *(
                    [idempotency_housekeeping(definition.idempotency)]
                    if definition.idempotency is not None
                    else []
                ),
            ],
            sessionmaker=self.sessionmaker,
            clock=clock,
            outbox=self.outbox,
            settings=settings,
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    def settings_as(self, kind: type[SettingsT]) -> SettingsT:
        """The settings as the service's own class (`settings_as(Settings).jwt_issuer`)."""
        if not isinstance(self.settings, kind):
            raise TypeError(f"{self.definition.name} runs with {type(self.settings).__name__}")
        return self.settings

    def start_workers(self) -> None:
        self._stop.clear()
        self._tasks = [
            asyncio.create_task(self.relay.run(self._stop), name="outbox-relay"),
            asyncio.create_task(self.jobs.run(self._stop), name="jobs"),
        ]
        if self.definition.handlers.event_types:
            self._tasks.append(
                asyncio.create_task(self.consumer.run(self._stop), name="event-consumer")
            )

    async def stop_workers(self) -> None:
        self._stop.set()
        if self._tasks:
            _, pending = await asyncio.wait(self._tasks, timeout=10)
            for task in pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._tasks = []

    async def close(self) -> None:
        await self.stop_workers()
        await self.broker.close()
        await self.reader.close()
        await self.engine.dispose()


def create_service_app(
    definition: ServiceDefinition,
    settings: PlatformSettings,
    *,
    clock: Clock | None = None,
) -> FastAPI:
    configure_logging(settings.log_level, settings.log_json, service=definition.name)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = Runtime(definition, settings, clock or SystemClock())
        app.state.runtime = runtime
        app.state.sessionmaker = runtime.sessionmaker
        app.state.reader = runtime.reader
        for step in definition.startup:
            await step(runtime)
        if settings.run_workers:
            runtime.start_workers()
        log.info("service_started", workers=settings.run_workers)
        try:
            yield
        finally:
            await runtime.close()
            log.info("service_stopped")

    app = FastAPI(
        title=f"Kabinet {definition.name}",
        description=definition.description,
        version="1.0.0",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        openapi_tags=[tag.openapi() for tag in definition.tags],
        telemetry=NO_TELEMETRY,
    )
    install_problem_handlers(app)
    app.add_middleware(StorableTextMiddleware)
    if definition.idempotency is not None:
        app.add_middleware(IdempotencyMiddleware, table=definition.idempotency)
    # Outside the idempotency layer, which keys a partner's answers by the verified caller.
    app.add_middleware(CallerMiddleware, service=definition.name, secret=settings.internal_secret)
    app.add_middleware(ObservabilityMiddleware)
    app.add_api_route("/metrics", metrics_endpoint, include_in_schema=False)
    app.add_api_route("/healthz", healthz, include_in_schema=False)
    app.add_api_route("/readyz", readyz, include_in_schema=False)
    check_routers(definition)
    for router in definition.routers:
        app.include_router(router)
    return app


async def healthz() -> dict[str, str]:
    return {"status": "ok"}


async def readyz(request: Request) -> JSONResponse:
    """Ready when the database answers; the broker's state is reported beside it."""
    runtime: Runtime = request.app.state.runtime
    checks: dict[str, str] = {}
    try:
        async with runtime.engine.connect() as conn:
            await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    if runtime.settings.run_workers:
        try:
            await asyncio.wait_for(runtime.broker.get(), timeout=2)
            checks["broker"] = "ok" if runtime.broker.is_ready else "reconnecting"
        except Exception as exc:
            checks["broker"] = f"unavailable: {type(exc).__name__}"
    # The outbox keeps requests working through a broker outage, so only the database decides.
    ready = checks["database"] == "ok"
    return JSONResponse(
        {"status": "ready" if ready else "not_ready", "checks": checks},
        status_code=200 if ready else 503,
    )


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_clock(runtime: RuntimeDep) -> Clock:
    return runtime.clock


async def get_outbox(runtime: RuntimeDep) -> Outbox:
    return runtime.outbox


async def get_sessionmaker(runtime: RuntimeDep) -> async_sessionmaker[AsyncSession]:
    return runtime.sessionmaker


ClockDep = Annotated[Clock, Depends(get_clock)]
OutboxDep = Annotated[Outbox, Depends(get_outbox)]
# For a write that must outlive a failing request (a counted wrong code): its own transaction.
SessionmakerDep = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessionmaker)]


def settings_of(kind: type[SettingsT]) -> Callable[[Runtime], Awaitable[SettingsT]]:
    """A dependency giving `runtime.settings` as the service's own settings class.

    `SettingsDep = Annotated[Settings, Depends(settings_of(Settings))]` in a service's
    `dependencies.py`; `runtime.settings_as(Settings)` where the runtime is at hand (a
    start-up step). A coroutine, so that FastAPI does not hand it to a worker thread.
    """

    async def service_settings(runtime: RuntimeDep) -> SettingsT:
        return runtime.settings_as(kind)

    return service_settings
