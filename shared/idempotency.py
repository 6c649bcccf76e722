"""`Idempotency-Key` on POST for partner calls: the same key and body return the first result.

Partners' integrations retry; a retried "import this contract" must not import it twice. The
first answer (status, body, a few headers) is kept per API key and key for a day; a repeat with
the same request gets it back (`Idempotent-Replayed: true`), a repeat with another request is a
422, and one that arrives while the first is still running is a 409 to retry shortly. Server
errors are not kept, so a retry after one runs again.
"""

import hashlib
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    and_,
    delete,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB, insert
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.auth import principal_of
from shared.clock import Clock
from shared.jobs import Job
from shared.problems import Conflict, InvalidInput, ProblemError

IDEMPOTENCY_HEADER = "idempotency-key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEPT_FOR = timedelta(hours=24)
# A first request that has not finished in this long is taken as lost (its process died).
ABANDONED_AFTER = timedelta(minutes=5)
_KEPT_RESPONSE_HEADERS = {b"content-type", b"location"}


def idempotency_table(metadata: MetaData) -> Table:
    return Table(
        "idempotency_keys",
        metadata,
        Column("owner", String(80), primary_key=True),
        Column("key", String(255), primary_key=True),
        Column("request_hash", String(64), nullable=False),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("status_code", Integer),
        Column("headers", JSONB),
        Column("body", LargeBinary),
        Column("completed_at", DateTime(timezone=True)),
    )


def idempotency_housekeeping(table: Table) -> Job:
    async def trim(session: AsyncSession, clock: Clock) -> None:
        await session.execute(delete(table).where(table.c.created_at < clock.now() - KEPT_FOR))

    return Job(name="idempotency_housekeeping", every_seconds=3600, run=trim)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, table: Table) -> None:
        self.app = app
        self.table = table

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Most requests are not POSTs: nothing to look at for them.
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        key_bytes = headers.get(IDEMPOTENCY_HEADER.encode())
        owner = self._partner(scope) if key_bytes is not None else None
        if owner is None or key_bytes is None:
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        key = key_bytes.decode("latin-1").strip()
        if not 1 <= len(key) <= 255:
            error: ProblemError = InvalidInput("Idempotency-Key", "must be 1 to 255 characters")
            await error.answer(path)(scope, receive, send)
            return
        body = await _read_body(receive)
        request_hash = hashlib.sha256(
            b"\n".join(
                [scope["method"].encode(), path.encode(), scope.get("query_string", b""), body]
            )
        ).hexdigest()
        runtime = scope["app"].state.runtime
        outcome = await self._claim(runtime, owner, key, request_hash)
        if isinstance(outcome, ProblemError):
            await outcome.answer(path)(scope, receive, send)
            return
        if outcome is not None:
            await _replay(outcome, send)
            return
        await self._run_first(scope, body, send, runtime, owner, key)

    def _partner(self, scope: Scope) -> str | None:
        principal = principal_of(scope)
        if principal is None or principal.kind != "api_key" or principal.api_key_id is None:
            return None
        return f"api_key:{principal.api_key_id}"

    async def _claim(
        self, runtime: Any, owner: str, key: str, request_hash: str
    ) -> dict[str, Any] | ProblemError | None:
        """None: this request is the first and runs. A dict: the kept answer. A problem: refuse."""
        table = self.table
        now: datetime = runtime.clock.now()
        async with runtime.sessionmaker() as session, session.begin():
            claimed = await session.scalar(
                insert(table)
                .values(owner=owner, key=key, request_hash=request_hash, created_at=now)
                .on_conflict_do_nothing()
                .returning(table.c.key)
            )
            if claimed is not None:
                return None
            row = (
                await session.execute(
                    select(table)
                    .where(table.c.owner == owner, table.c.key == key)
                    .with_for_update()
                )
            ).one()
            stale = row.created_at < now - KEPT_FOR or (
                row.completed_at is None and row.created_at < now - ABANDONED_AFTER
            )
            if stale:
                await session.execute(
                    update(table)
                    .where(table.c.owner == owner, table.c.key == key)
                    .values(
                        request_hash=request_hash,
                        created_at=now,
                        status_code=None,
                        headers=None,
                        body=None,
                        completed_at=None,
                    )
                )
                return None
        if row.request_hash != request_hash:
            return InvalidInput(
                "Idempotency-Key", "was already used for a different request; use a new key"
            )
        if row.completed_at is None:
            return Conflict(
                "The first request with this Idempotency-Key is still running; retry shortly",
                headers={"Retry-After": "1"},
            )
        return {"status": row.status_code, "headers": row.headers, "body": row.body}

    async def _run_first(
        self, scope: Scope, body: bytes, send: Send, runtime: Any, owner: str, key: str
    ) -> None:
        answer: dict[str, Any] = {"status": 500, "headers": [], "body": b""}
        delivered = False

        async def replay_body() -> Message:
            nonlocal delivered
            if delivered:
                return {"type": "http.disconnect"}
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer["status"] = message["status"]
                answer["headers"] = [
                    [k.decode("latin-1"), v.decode("latin-1")]
                    for k, v in message.get("headers", [])
                    if k.lower() in _KEPT_RESPONSE_HEADERS
                ]
            elif message["type"] == "http.response.body":
                answer["body"] += message.get("body", b"")
            await send(message)

        table = self.table
        where = and_(table.c.owner == owner, table.c.key == key)
        try:
            await self.app(scope, replay_body, capture)
        finally:
            async with runtime.sessionmaker() as session, session.begin():
                if answer["status"] >= 500:
                    await session.execute(delete(table).where(where))
                else:
                    await session.execute(
                        update(table)
                        .where(where)
                        .values(
                            status_code=answer["status"],
                            headers=answer["headers"],
                            body=answer["body"],
                            completed_at=runtime.clock.now(),
                        )
                    )


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _replay(kept: dict[str, Any], send: Send) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in kept["headers"] or []]
    headers.append((REPLAYED_HEADER.lower().encode(), b"true"))
    await send({"type": "http.response.start", "status": kept["status"], "headers": headers})
    await send({"type": "http.response.body", "body": kept["body"] or b""})
