"""Async engine, one session per request (commit on success, rollback on error), reads outside
a transaction for hot read endpoints (`ReaderDep`), schema bases.

Stale connections (PostgreSQL restarted, a backend terminated) are caught without a round trip:
a pooled connection whose socket the server has closed is replaced as it is checked out, and the
first disconnect error invalidates the whole pool (SQLAlchemy's default; the reader's asyncpg
pool does the same), so every other connection of the old server is replaced too. A reader's
statement that still meets a dead connection is run once more on a fresh one.
"""

import asyncio
import zlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
from fastapi import Depends, Request
from sqlalchemy import MetaData, Select, event, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Compiled, Dialect, make_url
from sqlalchemy.exc import DisconnectionError, IntegrityError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def advisory_key(name: str) -> int:
    """A stable key for PostgreSQL advisory locks, derived from a name."""
    return zlib.crc32(name.encode()) - 2**31


async def hold_advisory_lock(session: AsyncSession, name: str) -> None:
    """Waits for, then holds until the transaction ends, the advisory lock named `name`."""
    await session.execute(select(func.pg_advisory_xact_lock(advisory_key(name))))


def schema_metadata(schema: str) -> MetaData:
    """Metadata whose tables all live in one service's PostgreSQL schema."""
    return MetaData(schema=schema, naming_convention=NAMING_CONVENTION)


def create_engine(database_url: str, pool_size: int = 10, **kwargs: Any) -> AsyncEngine:
    """A pool of up to twice `pool_size` connections: `pool_size` for the steady load and as
    many again for a burst, opened as needed and kept once opened.

    Not SQLAlchemy's overflow: an overflow connection is closed again when it comes back to a
    pool that already holds `pool_size` idle ones, so a load hovering around `pool_size`
    requests at once opened and closed a PostgreSQL backend for request after request (that
    cost licensing's license validation a third more CPU per request at 16 at once). The
    most a process may hold is unchanged.

    No ping before each checkout: SQLAlchemy's ping is three round trips on asyncpg (BEGIN, a
    query, ROLLBACK), more than the request it guards. `_closed_by_server` does its job
    without leaving the process.
    """
    engine = create_async_engine(database_url, pool_size=2 * pool_size, max_overflow=0, **kwargs)
    event.listen(engine.sync_engine, "checkout", _closed_by_server)
    return engine


def _closed_by_server(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """A pooled connection the server has closed (a restart, a terminated backend) is replaced
    as it is checked out: asyncpg sees the server's goodbye as it arrives, no query needed."""
    if dbapi_connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def create_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ensure_database(database_url: str) -> bool:
    """Create the database named in the URL if it is missing (UTF-8); True when it was created."""
    url = make_url(database_url)
    name = url.database
    if not name:
        raise ValueError("database URL names no database")
    dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        quoted = '"' + name.replace('"', '""') + '"'
        await conn.execute(
            f"CREATE DATABASE {quoted} ENCODING 'UTF8' LC_COLLATE 'C.UTF-8' "
            "LC_CTYPE 'C.UTF-8' TEMPLATE template0"
        )
        return True
    finally:
        await conn.close()


async def drop_database(database_url: str) -> None:
    url = make_url(database_url)
    dsn = url.set(drivername="postgresql", database="postgres").render_as_string(
        hide_password=False
    )
    conn = await asyncpg.connect(dsn)
    try:
        quoted = '"' + (url.database or "").replace('"', '""') + '"'
        await conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)")
    finally:
        await conn.close()


async def session_per_request(request: Request) -> AsyncIterator[AsyncSession]:
    """The request's unit of work: committed before the response is sent, rolled back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(session_per_request, scope="function")]


class ReadQuery:
    """A `SELECT` compiled once, the first time a reader runs it, and run with parameters by
    name: `ReadQuery(select(...).where(T.c.code == bindparam("code")))`.

    Built once at import (a module constant beside the repository), it costs nothing per
    request: no statement built, no cache key computed, no execution context, just the SQL
    and its arguments handed to the driver. Each value goes through its column type's bind
    and result processing, as SQLAlchemy would apply it. A parameter that must be spelled
    into the SQL (an `IN` list, a plain-number `LIMIT`) is refused: use `bindparam`.
    """

    def __init__(self, statement: Select[Any]) -> None:
        if not isinstance(statement, Select):
            raise TypeError(f"a reader runs SELECTs only, not {type(statement).__name__}")
        self.statement = statement
        self._compiled: dict[tuple[str, str], _CompiledRead] = {}

    def compiled(self, dialect: Dialect) -> "_CompiledRead":
        key = (dialect.name, dialect.driver)
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = _CompiledRead.of(self.statement, dialect)
        return compiled


@dataclass(frozen=True)
class _CompiledRead:
    sql: str
    compiled: Compiled
    order: tuple[str, ...]
    bind_processors: dict[str, Callable[[Any], Any]]
    keys: tuple[str, ...]
    result_processors: tuple[Callable[[Any], Any] | None, ...]

    @classmethod
    def of(cls, statement: Select[Any], dialect: Dialect) -> "_CompiledRead":
        compiled = statement.compile(dialect=dialect)
        if "POSTCOMPILE" in compiled.string:
            raise ValueError(
                "a reader query takes its values as bound parameters; spell LIMIT and IN "
                "lists with bindparam()"
            )
        columns = list(statement.selected_columns)
        return cls(
            sql=compiled.string,
            compiled=compiled,
            order=tuple(compiled.positiontup or ()),
            bind_processors={
                name: processor
                for name, processor in (
                    (bind.key, bind.type.dialect_impl(dialect).bind_processor(dialect))
                    for bind in compiled.binds.values()
                )
                if processor is not None
            },
            keys=tuple(str(column.key) for column in columns),
            result_processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ),
        )

    def arguments(self, values: dict[str, Any]) -> list[Any]:
        bound = self.compiled.construct_params(values) or {}
        processors = self.bind_processors
        return [
            processors[name](bound[name]) if name in processors else bound[name]
            for name in self.order
        ]

    def row(self, record: Sequence[Any]) -> dict[str, Any]:
        return {
            key: value if processor is None else processor(value)
            for key, value, processor in zip(self.keys, record, self.result_processors, strict=True)
        }


class Reader:
    """Read-only statements outside a transaction, for hot read endpoints.

    Each query takes a connection of the reader's own asyncpg pool, runs as one statement on
    the driver and gives the connection back: one round trip, where a session adds BEGIN and
    COMMIT, and none of the session's, the ORM's, the execution context's or SQLAlchemy's
    pool's work (two greenlet hand-offs per checkout). PostgreSQL's default isolation (READ
    COMMITTED) gives every statement its own snapshot inside a transaction too, so a read
    sees the same rows either way; what a reader cannot do is write or lock: it runs
    `ReadQuery`s (`SELECT`s) only, so a returned connection holds no state to reset and
    goes back without asyncpg's reset round trip.

    The pool opens connections as reads need them, up to `size` (`db_reader_pool_size`);
    more reads wait for a turn. A connection the server has closed is replaced as it is
    taken (asyncpg reads the server's goodbye as it arrives); a query that still meets a
    dead one replaces every connection of the pool and runs once more on a fresh one:
    nothing was done on the dead one.
    """

    def __init__(self, engine: AsyncEngine, size: int = 5) -> None:
        self._dialect = engine.sync_engine.dialect
        self._dsn = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._size = size
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    async def rows(self, query: ReadQuery, **values: Any) -> list[dict[str, Any]]:
        """Every row of `query` with these parameters, each a dict of its columns."""
        compiled = query.compiled(self._dialect)
        arguments = compiled.arguments(values)
        pool = self._pool or await self._open()
        try:
            records = await self._fetch(pool, compiled.sql, arguments)
        except _Disconnected:
            await pool.expire_connections()
            try:
                records = await self._fetch(pool, compiled.sql, arguments)
            except _Disconnected as again:
                raise again.error from None
        return [compiled.row(record) for record in records]

    async def close(self) -> None:
        async with self._opening:
            if self._pool is not None:
                await self._pool.close()
                self._pool = None

    async def _open(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._dsn, min_size=0, max_size=self._size, reset=_nothing_to_reset
                )
            return self._pool

    @staticmethod
    async def _fetch(pool: asyncpg.Pool, sql: str, arguments: list[Any]) -> list[asyncpg.Record]:
        try:
            async with pool.acquire() as connection:
                records: list[asyncpg.Record] = await connection.fetch(sql, *arguments)
        except _GONE as error:
            raise _Disconnected(error) from error
        return records


# The server went away under a statement: a connection error (class 08, the connection cut in
# the middle of the statement), the server's goodbye read as the answer (terminated backend,
# shutdown), or the socket's own error.
_GONE = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    ConnectionError,
)


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """A reader's connection ran one `SELECT` outside a transaction: no session state, no
    listener, no lock to undo (asyncpg's own reset would cost a round trip per read)."""


class _Disconnected(Exception):
    """The server was gone when a reader's query ran: nothing was done, it may run again."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


async def reader_of(request: Request) -> Reader:
    reader: Reader = request.app.state.reader
    return reader


ReaderDep = Annotated[Reader, Depends(reader_of)]


async def apply_newer(
    session: AsyncSession, model: type[Any], values: dict[str, Any], stamp: str = "last_event_at"
) -> None:
    """A read model's row written as an event has it (`values`, keyed by column, `id` among
    them), unless the row already holds a newer event's state: with out-of-order delivery an
    event older than the one applied changes nothing. `stamp` is the column with the time of
    the event the row holds."""
    table = model.__table__
    statement = pg_insert(model).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.id],
            set_={key: statement.excluded[key] for key in values if key != "id"},
            where=table.c[stamp] < statement.excluded[stamp],
        )
    )


@asynccontextmanager
async def duplicate_refused(session: AsyncSession, refusal: Exception) -> AsyncIterator[None]:
    """A savepoint around a write that a unique index may refuse (between concurrent requests
    too, which only the database can judge): the refusal is raised as `refusal`, and the
    request's transaction goes on without the write."""
    try:
        async with session.begin_nested():
            yield
    except IntegrityError as error:
        raise refusal from error
