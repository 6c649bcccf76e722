"""The operator commands: `migrate` on a missing database, `replay-dlq`."""

import asyncio

import aio_pika
import asyncpg
import pytest
from sqlalchemy.engine import make_url

from shared.bus.topology import Topology, delete_service_queues
from shared.cli import main
from shared.config import SERVICES, PlatformSettings
from shared.db import drop_database


async def test_migrate_creates_the_database_every_schema_and_every_queue(
    platform_settings, monkeypatch
):
    url = make_url(platform_settings.database_url)
    fresh = url.set(database=f"{url.database}_cli").render_as_string(hide_password=False)
    namespace = f"{platform_settings.bus_namespace}cli."
    monkeypatch.setenv("KABINET_DATABASE_URL", fresh)
    monkeypatch.setenv("KABINET_BUS_NAMESPACE", namespace)
    settings = PlatformSettings()
    try:
        assert await asyncio.to_thread(main, ["migrate"]) == 0
        dsn = make_url(fresh).set(drivername="postgresql").render_as_string(hide_password=False)
        conn = await asyncpg.connect(dsn)
        try:
            versions = {
                schema: await conn.fetchval(f'SELECT version_num FROM "{schema}".alembic_version')  # noqa: S608
                for schema in SERVICES
            }
        finally:
            await conn.close()
        assert all(versions.values()), versions
        connection = await aio_pika.connect(settings.amqp_url)
        async with connection:
            channel = await connection.channel()
            for service in SERVICES:
                topology = Topology.of(service, settings)
                await channel.declare_queue(topology.queue, passive=True)
                await channel.declare_queue(topology.dead_letter_queue, passive=True)
            for service in SERVICES:
                await delete_service_queues(
                    await connection.channel(), Topology.of(service, settings)
                )
        # Running it again is harmless.
        assert await asyncio.to_thread(main, ["migrate", "--no-bus"]) == 0
    finally:
        await drop_database(fresh)


def test_migrate_refuses_an_unknown_service():
    with pytest.raises(SystemExit) as exit_info:
        main(["migrate", "billing"])
    assert exit_info.value.code == 2
