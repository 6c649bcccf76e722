"""`Idempotency-Key` on partner POSTs: the same key and request give the first answer once."""

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from shared.auth import Principal
from shared.clock import ManualClock
from shared.idempotency import idempotency_housekeeping
from shared.jobs import JobRunner
from shared.service import create_service_app
from shared.testing.harness import describe_caller, seal_requests
from shared.testing.plugin import eventually, running
from shared.tests.conftest import producer_bus, producer_definition, producer_idempotency


def partner(settings, api_key_id: uuid.UUID | None = None) -> dict[str, str]:
    principal = Principal(
        kind="api_key",
        api_key_id=api_key_id or uuid.uuid4(),
        organization_id=uuid.uuid4(),
        roles=["partner"],
    )
    return describe_caller(principal)


async def staged(engine, n: int) -> int:
    outbox = producer_bus.outbox
    async with engine.connect() as conn:
        query = select(func.count()).select_from(outbox).where(outbox.c.event_type != "")
        rows = await conn.execute(query.where(outbox.c.envelope["data"]["n"].as_integer() == n))
        return int(rows.scalar() or 0)


async def claims(engine) -> int:
    async with engine.connect() as conn:
        rows = await conn.execute(select(func.count()).select_from(producer_idempotency))
        return int(rows.scalar() or 0)


def producer(settings, clock=None):
    return create_service_app(
        producer_definition(), settings.model_copy(update={"run_workers": False}), clock=clock
    )


@contextlib.asynccontextmanager
async def serving(app) -> AsyncIterator[httpx.AsyncClient]:
    """The app running, with a client that seals every described caller for its request."""
    async with running(app) as client:
        seal_requests(
            client, app.state.runtime.definition.name, app.state.runtime.settings.internal_secret
        )
        yield client


async def test_a_repeated_partner_call_returns_the_first_answer_and_acts_once(
    platform_settings, clean_probe_tables
):
    headers = {**partner(platform_settings), "Idempotency-Key": "order-7"}
    async with serving(producer(platform_settings)) as client:
        first = await client.post("/probe", params={"n": 701}, headers=headers)
        again = await client.post("/probe", params={"n": 701}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.headers["content-type"] == "application/json"
    assert await staged(clean_probe_tables, 701) == 1


async def test_the_same_key_with_another_request_is_refused(platform_settings, clean_probe_tables):
    headers = {**partner(platform_settings), "Idempotency-Key": "order-8"}
    async with serving(producer(platform_settings)) as client:
        await client.post("/probe", params={"n": 801}, headers=headers)
        other = await client.post("/probe", params={"n": 802}, headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    assert await staged(clean_probe_tables, 802) == 0


async def test_keys_belong_to_one_api_key_and_only_partners_use_them(
    platform_settings, clean_probe_tables
):
    key = {"Idempotency-Key": "shared-name"}
    user = Principal(kind="user", user_id=uuid.uuid4(), roles=["admin"])
    user_headers = describe_caller(user)
    async with serving(producer(platform_settings)) as client:
        for headers in (partner(platform_settings), partner(platform_settings)):
            response = await client.post("/probe", params={"n": 901}, headers={**headers, **key})
            assert response.status_code == 201
        for _ in range(2):
            await client.post("/probe", params={"n": 902}, headers={**user_headers, **key})
        for _ in range(2):
            await client.post("/probe", params={"n": 903}, headers=partner(platform_settings))
    assert await staged(clean_probe_tables, 901) == 2  # two partners, one call each
    assert await staged(clean_probe_tables, 902) == 2  # not a partner call: no replay
    assert await staged(clean_probe_tables, 903) == 2  # no key: every call acts


async def test_failures_are_kept_but_server_errors_are_retried(
    platform_settings, clean_probe_tables
):
    refused = {**partner(platform_settings), "Idempotency-Key": "refused-once"}
    crashed = {**partner(platform_settings), "Idempotency-Key": "crashed-once"}
    async with serving(producer(platform_settings)) as client:
        first = await client.post("/probe", params={"n": 1001, "fail": True}, headers=refused)
        again = await client.post("/probe", params={"n": 1001, "fail": True}, headers=refused)
        assert first.status_code == again.status_code == 409
        assert again.headers["Idempotent-Replayed"] == "true"
        crash = await client.post("/probe", params={"n": 1002, "crash": True}, headers=crashed)
        assert crash.status_code == 500
        retried = await client.post("/probe", params={"n": 1002, "crash": True}, headers=crashed)
        assert retried.status_code == 500 and "Idempotent-Replayed" not in retried.headers


async def test_a_repeat_while_the_first_runs_is_told_to_retry(
    platform_settings, clean_probe_tables
):
    headers = {**partner(platform_settings), "Idempotency-Key": "in-flight"}
    app = producer(platform_settings)
    async with serving(app) as client:
        runtime = app.state.runtime
        # The first call stays in flight: its write to the outbox waits for our table lock.
        async with runtime.sessionmaker() as blocker, blocker.begin():
            lock = await blocker.connection()
            await lock.exec_driver_sql("LOCK TABLE probe_producer.outbox IN EXCLUSIVE MODE")
            first = asyncio.create_task(client.post("/probe", params={"n": 1101}, headers=headers))
            await eventually(lambda: claims(clean_probe_tables))
            second = await client.post("/probe", params={"n": 1101}, headers=headers)
        assert (await first).status_code == 201
    assert second.status_code == 409 and second.headers["Retry-After"] == "1"
    assert await staged(clean_probe_tables, 1101) == 1


async def test_kept_answers_expire_after_a_day(platform_settings, clean_probe_tables):
    clock = ManualClock()
    headers = {**partner(platform_settings), "Idempotency-Key": "daily"}
    app = producer(platform_settings, clock)
    async with serving(app) as client:
        await client.post("/probe", params={"n": 1201}, headers=headers)
        clock.advance(timedelta(hours=25))
        later = await client.post("/probe", params={"n": 1201}, headers=headers)
        assert "Idempotent-Replayed" not in later.headers
        runner = JobRunner(
            service="probe-idem",
            jobs=[idempotency_housekeeping(producer_idempotency)],
            sessionmaker=app.state.runtime.sessionmaker,
            clock=clock,
        )
        clock.advance(timedelta(hours=25))
        await runner.run_once("idempotency_housekeeping")
    async with clean_probe_tables.connect() as conn:
        left = await conn.execute(select(func.count()).select_from(producer_idempotency))
        assert left.scalar() == 0
    assert await staged(clean_probe_tables, 1201) == 2
