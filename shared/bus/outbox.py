"""Writing events into the outbox, inside the caller's business transaction."""

import asyncio
from collections.abc import Sequence

from sqlalchemy import event as sa_event
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.envelope import Envelope, EventPayload
from shared.bus.tables import BusTables
from shared.clock import Clock
from shared.observability import current_request_id


class Outbox:
    """`add()` stages an event in the caller's transaction; published only if that commits."""

    def __init__(self, tables: BusTables, producer: str, clock: Clock) -> None:
        self.table = tables.outbox
        self.producer = producer
        self.clock = clock
        # Set after a commit that wrote events, so the relay in this process sends them at once.
        self.committed = asyncio.Event()

    async def add(
        self,
        session: AsyncSession,
        payload: EventPayload,
        *,
        correlation_id: str | None = None,
    ) -> Envelope:
        envelope = Envelope.wrap(
            payload,
            producer=self.producer,
            occurred_at=self.clock.now(),
            correlation_id=correlation_id or current_request_id(),
        )
        await session.execute(
            insert(self.table).values(
                event_id=envelope.id,
                event_type=envelope.type,
                envelope=envelope.model_dump(mode="json"),
                created_at=envelope.occurred_at,
            )
        )
        self._wake_after_commit(session)
        return envelope

    async def add_many(self, session: AsyncSession, payloads: Sequence[EventPayload]) -> None:
        """Stages many events with one statement (a batch job's events), in the given order."""
        if not payloads:
            return
        now = self.clock.now()
        correlation_id = current_request_id()
        rows = []
        for payload in payloads:
            envelope = Envelope.wrap(
                payload, producer=self.producer, occurred_at=now, correlation_id=correlation_id
            )
            rows.append(
                {
                    "event_id": envelope.id,
                    "event_type": envelope.type,
                    "envelope": envelope.model_dump(mode="json"),
                    "created_at": now,
                }
            )
        await session.execute(insert(self.table), rows)
        self._wake_after_commit(session)

    def _wake_after_commit(self, session: AsyncSession) -> None:
        if not session.info.get("outbox_wakes_relay"):
            session.info["outbox_wakes_relay"] = True
            sa_event.listen(session.sync_session, "after_commit", self._on_commit)

    def _on_commit(self, _session: object) -> None:
        self.committed.set()
