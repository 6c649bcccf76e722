"""A pool whose connections the server dropped (PostgreSQL restarted, backends terminated) fails
no request: no ping before each use, yet a stale connection is never handed to one.

The restart is simulated with `pg_terminate_backend` on this pool's own connections (the
shared server itself is never restarted).
"""

import asyncio

import asyncpg
import pytest
from sqlalchemy import Text, func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from shared.db import Reader, ReadQuery, create_engine, create_sessionmaker
from shared.testing.tcpproxy import TcpProxy

POOL_SIZE = 3
BACKEND = ReadQuery(select(func.pg_backend_pid().label("pid")))


async def hold_full_pool(engine: AsyncEngine, size: int = POOL_SIZE) -> set[int]:
    """Checks out `size` connections at once, so that the pool keeps that many; their server
    process ids."""
    connections = [await engine.connect() for _ in range(size)]
    try:
        return {
            (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            for connection in connections
        }
    finally:
        for connection in connections:
            await connection.close()


async def terminate(database_url: str, pids: set[int]) -> None:
    """Ends these server processes, as a restart would, and waits until they are gone."""
    dsn = make_url(database_url).set(drivername="postgresql").render_as_string(False)
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) AS pid", pids)
        for _ in range(500):
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", list(pids)
            )
            if not left:
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"backends {pids} still running")
    finally:
        await admin.close()


async def fill_reader(reader: Reader) -> set[int]:
    """As many reads at once as the reader's pool holds, so that it keeps that many
    connections; their server process ids."""
    held = ReadQuery(select(func.pg_backend_pid().label("pid"), func.pg_sleep(0.2)))
    rows = await asyncio.gather(*(reader.rows(held) for _ in range(POOL_SIZE)))
    return {row[0]["pid"] for row in rows}


async def test_after_the_server_dropped_every_pooled_connection_no_read_or_transaction_fails(
    platform_settings,
):
    engine = create_engine(platform_settings.database_url, pool_size=POOL_SIZE)
    reader, sessionmaker = Reader(engine, size=POOL_SIZE), create_sessionmaker(engine)

    async def in_a_transaction() -> int:
        async with sessionmaker() as session, session.begin():
            return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())

    async def read() -> int:
        return int((await reader.rows(BACKEND))[0]["pid"])

    try:
        dropped = await hold_full_pool(engine) | await fill_reader(reader)
        assert len(dropped) == 2 * POOL_SIZE
        await terminate(platform_settings.database_url, dropped)
        # As many requests at once as the pools hold connections, each would take a dead one.
        served = await asyncio.gather(
            *(in_a_transaction() for _ in range(POOL_SIZE)), *(read() for _ in range(POOL_SIZE))
        )
    finally:
        await reader.close()
        await engine.dispose()
    assert not dropped & set(served)


async def test_a_read_that_meets_a_dead_connection_runs_once_more_on_a_fresh_one(
    platform_settings,
):
    """The server's goodbye may not have arrived yet when a connection is taken: the reader's
    statement is then run again, and the pool replaces the rest of the old server's
    connections. The connections go through a proxy that drops them all as the statement is
    sent, as a server gone between checkout and query would."""
    url = make_url(platform_settings.database_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    engine = create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    reader = Reader(engine, size=POOL_SIZE)
    try:
        before = await fill_reader(reader)
        # Every statement names its prepared statement: the first one sent cuts the lot.
        proxy.cut_on(b"__asyncpg_stmt_", forward=False, reopen=True)
        served = [(await reader.rows(BACKEND))[0]["pid"] for _ in range(POOL_SIZE)]
    finally:
        await reader.close()
        await engine.dispose()
        await proxy.stop()
    assert proxy.cuts == 1
    assert not before & set(served)


async def test_a_read_that_meets_a_dead_connection_twice_fails_with_the_drivers_error(
    platform_settings,
):
    url = make_url(platform_settings.database_url)
    proxy = await TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    engine = create_engine(url.set(host="127.0.0.1", port=proxy.port).render_as_string(False))
    reader = Reader(engine, size=1)
    try:
        await reader.rows(BACKEND)
        proxy.cut_on(b"__asyncpg_stmt_", forward=False)  # and no new connection is accepted
        with pytest.raises((OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError)):
            await reader.rows(BACKEND)
    finally:
        await reader.close()
        await engine.dispose()
        await proxy.stop()


async def test_connections_opened_for_a_burst_are_kept_for_the_next_one(platform_settings):
    """Twice the pool size at once is a burst the pool serves; the connections it opened are
    not closed as they come back (a new server process per request under such a load)."""
    engine = create_engine(platform_settings.database_url, pool_size=POOL_SIZE)
    try:
        first = await hold_full_pool(engine, 2 * POOL_SIZE)
        second = await hold_full_pool(engine, 2 * POOL_SIZE)
    finally:
        await engine.dispose()
    assert len(first) == 2 * POOL_SIZE
    assert second == first


async def test_a_reader_runs_selects_only(platform_settings):
    with pytest.raises(TypeError, match="SELECTs only"):
        ReadQuery(text("DELETE FROM licensing.products"))  # type: ignore[arg-type]


async def test_a_read_cut_short_by_a_cancelled_request_leaves_no_broken_connection_behind(
    platform_settings,
):
    engine = create_engine(platform_settings.database_url, pool_size=1)
    reader = Reader(engine, size=1)
    slow = ReadQuery(select(func.pg_sleep(5).cast(Text).label("slept")))
    try:
        cut = asyncio.create_task(reader.rows(slow))
        await asyncio.sleep(0.3)  # the statement is running on the pool's one connection
        cut.cancel()
        with pytest.raises(asyncio.CancelledError):
            await cut
        # The next read gets a connection that is not still busy with the cancelled statement.
        assert (await asyncio.wait_for(reader.rows(BACKEND), timeout=3))[0]["pid"]
    finally:
        await reader.close()
        await engine.dispose()


async def test_a_statement_the_server_refuses_leaves_the_connection_in_use(platform_settings):
    engine = create_engine(platform_settings.database_url, pool_size=1)
    reader = Reader(engine, size=1)
    try:
        (before,) = await reader.rows(BACKEND)
        with pytest.raises(asyncpg.UndefinedTableError):
            await reader.rows(ReadQuery(select(text("*")).select_from(text("no_such_table"))))
        (after,) = await reader.rows(BACKEND)
    finally:
        await reader.close()
        await engine.dispose()
    assert before["pid"] == after["pid"]
