"""Shared plumbing: problems, one session per request, request ids in logs, jobs, migrations."""

import asyncio
import importlib
import json
import time
import uuid

import pytest
import structlog
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.consumer import handler_clock, handler_outbox, handler_settings
from shared.bus.envelope import Envelope
from shared.bus.outbox import Outbox
from shared.clock import Clock, ManualClock
from shared.config import PlatformSettings
from shared.db import SessionDep, create_engine, create_sessionmaker
from shared.ids import uuid7_many
from shared.jobs import Job, JobRunner
from shared.service import Runtime, create_service_app
from shared.testing.plugin import running
from shared.tests.conftest import (
    BusProbe,
    consumer_bus,
    effects,
    probe_definition,
    producer_bus,
)


class Address(BaseModel):
    postal_code: str = Field(pattern=r"^\d{6}$")


class Order(BaseModel):
    quantity: int = Field(ge=1)
    address: Address
    lines: list[Address] = []


def plumbing_app(platform_settings):
    router = APIRouter(tags=["probes"])

    @router.post("/orders")
    async def create_order(order: Order) -> dict[str, int]:
        return {"quantity": order.quantity}

    @router.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals /etc/passwd")

    @router.post("/write-then-fail")
    async def write_then_fail(session: SessionDep, n: int, fail: bool = False) -> dict:
        await session.execute(effects.insert().values(n=n, event_id=uuid.uuid4()))
        await session.flush()
        if fail:
            raise RuntimeError("after the flush")
        return {"written": n}

    definition = probe_definition(
        "plumbing",
        description="plumbing test",
        routers=[router],
    )
    return create_service_app(
        definition, platform_settings.model_copy(update={"run_workers": False})
    )


async def test_validation_problem_names_every_wrong_field_by_its_dotted_path(platform_settings):
    async with running(plumbing_app(platform_settings)) as client:
        response = await client.post(
            "/orders",
            json={"quantity": 0, "address": {"postal_code": "12"}, "lines": [{"postal_code": "x"}]},
        )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].endswith("/validation-error")
    fields = {e["field"] for e in problem["errors"]}
    assert fields == {"quantity", "address.postal_code", "lines[0].postal_code"}
    assert all(e["message"] for e in problem["errors"])


async def test_unexpected_error_is_a_500_problem_without_internals(platform_settings):
    async with running(plumbing_app(platform_settings)) as client:
        response = await client.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert "passwd" not in response.text and "Traceback" not in response.text


async def test_request_commits_on_success_and_writes_nothing_on_error(
    platform_settings, clean_probe_tables
):
    app = plumbing_app(platform_settings)
    async with running(app) as client:
        ok = await client.post("/write-then-fail", params={"n": 101})
        failed = await client.post("/write-then-fail", params={"n": 102, "fail": True})
    assert ok.status_code == 200 and failed.status_code == 500
    async with clean_probe_tables.connect() as conn:
        written = (await conn.execute(select(effects.c.n))).scalars().all()
    assert written == [101]


async def test_logs_are_json_and_carry_the_request_id(platform_settings, capsys):
    settings = platform_settings.model_copy(update={"log_json": True, "log_level": "INFO"})
    router = APIRouter(tags=["probes"])
    definition = probe_definition(
        "plumbing",
        description="",
        routers=[router],
    )

    @router.get("/hello")
    async def hello() -> dict[str, str]:
        structlog.get_logger("test").info("said_hello")
        return {"hello": "world"}

    app = create_service_app(definition, settings.model_copy(update={"run_workers": False}))
    capsys.readouterr()
    async with running(app) as client:
        await client.get("/hello", headers={"X-Request-ID": "trace-me-7"})
    lines = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if "said_hello" in line
    ]
    assert lines and lines[0]["request_id"] == "trace-me-7" and lines[0]["level"] == "info"


async def test_a_job_runs_on_one_replica_at_a_time(platform_settings):
    engine = create_engine(platform_settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    started, release = asyncio.Event(), asyncio.Event()
    runs: list[str] = []

    async def slow(session: AsyncSession, clock: Clock) -> None:
        runs.append("ran")
        started.set()
        await release.wait()

    job = Job(name="exclusive", every_seconds=60, run=slow)
    replicas = [
        JobRunner(service="plumbing", jobs=[job], sessionmaker=sessionmaker, clock=ManualClock())
        for _ in range(2)
    ]
    try:
        first = asyncio.create_task(replicas[0].run_once("exclusive"))
        await started.wait()
        assert await replicas[1].run_once("exclusive") is False
        release.set()
        assert await first is True
        assert await replicas[1].run_once("exclusive") is True
    finally:
        await engine.dispose()
    assert runs == ["ran", "ran"]


async def test_a_job_publishes_through_its_runtime_s_clock_and_outbox(
    platform_settings, clean_probe_tables
):
    """Every service's jobs find the runtime's clock, outbox and settings on their session, as
    event handlers do; the event is staged in the job's own transaction."""
    seen: list[tuple[Clock, Outbox, PlatformSettings]] = []

    class OtherSettings(PlatformSettings):
        pass

    async def publishing(session: AsyncSession, clock: Clock) -> None:
        seen.append(
            (
                handler_clock(session),
                handler_outbox(session),
                handler_settings(session, PlatformSettings),
            )
        )
        with pytest.raises(RuntimeError, match="OtherSettings"):
            handler_settings(session, OtherSettings)  # not the class the service runs with
        await handler_outbox(session).add(session, BusProbe(n=4242))

    definition = probe_definition(
        "plumbing_jobs",
        description="plumbing test",
        jobs=[Job(name="publishing", every_seconds=3600, run=publishing)],
    )
    clock = ManualClock()
    runtime = Runtime(definition, platform_settings, clock)
    try:
        assert await runtime.jobs.run_once("publishing")
        async with runtime.sessionmaker() as session:
            staged = await session.scalar(
                select(func.count())
                .select_from(producer_bus.outbox)
                .where(producer_bus.outbox.c.envelope["data"]["n"].as_integer() == 4242)
            )
    finally:
        await runtime.close()
    assert seen == [(clock, runtime.outbox, platform_settings)]
    assert seen[0][2] is platform_settings
    assert staged == 1


async def test_event_handlers_find_the_runtime_s_settings_alone_and_in_a_batch(
    platform_settings, clean_probe_tables
):
    """A handler reads the settings the service was started with, whether its event is applied
    in a transaction of its own or with the producer's other waiting events."""
    seen: list[PlatformSettings] = []

    async def handler(session: AsyncSession, payload: BusProbe, envelope: Envelope) -> None:
        seen.append(handler_settings(session, PlatformSettings))

    clock = ManualClock()
    runtime = Runtime(
        probe_definition("plumbing_settings", description="plumbing test", bus=consumer_bus),
        platform_settings,
        clock,
    )
    envelopes = [
        Envelope.wrap(BusProbe(n=n), producer="test", occurred_at=clock.now()) for n in range(3)
    ]
    try:
        assert await runtime.consumer.apply(envelopes[0], BusProbe(n=0), handler)
        batch = [(None, envelope, BusProbe(n=n), handler) for n, envelope in enumerate(envelopes)]
        assert await runtime.consumer.apply_batch(batch[1:]) == [True, True]  # type: ignore[arg-type]
    finally:
        await runtime.close()
    assert len(seen) == 3 and all(settings is platform_settings for settings in seen)


@pytest.mark.parametrize("service", ["identity", "licensing", "helpdesk", "dongle"])
async def test_each_schema_is_migrated_exactly_to_its_models_and_keeps_its_own_version_table(
    platform_settings, service
):
    definition = importlib.import_module(f"services.{service}.app").definition
    engine = create_engine(platform_settings.database_url)
    try:
        async with engine.connect() as conn:
            version_tables = (
                (
                    await conn.execute(
                        text(
                            "SELECT table_schema FROM information_schema.tables "
                            "WHERE table_name = 'alembic_version'"
                        )
                    )
                )
                .scalars()
                .all()
            )

            def diff(sync_conn):
                context = MigrationContext.configure(
                    sync_conn,
                    opts={
                        "include_schemas": True,
                        "include_name": lambda name, type_, parent: (
                            name == service if type_ == "schema" else name != "alembic_version"
                        ),
                        "compare_type": True,
                    },
                )
                return compare_metadata(context, definition.metadata)

            differences = await conn.run_sync(diff)
    finally:
        await engine.dispose()
    assert service in version_tables and "public" not in version_tables
    assert differences == [], f"models and migrations of {service} differ: {differences}"


def test_uuid7_many_gives_distinct_version_7_ids_of_the_current_millisecond():
    before = time.time_ns() // 1_000_000
    ids = uuid7_many(10_000)
    after = time.time_ns() // 1_000_000
    assert len(set(ids)) == len(ids) == 10_000
    for made in ids[:100]:
        assert made.version == 7
        assert made.variant == uuid.RFC_4122
        assert before <= made.int >> 80 <= after
    assert uuid7_many(0) == []
