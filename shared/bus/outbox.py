"""Writing events into the outbox, inside the caller's business transaction."""

import asyncio
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any

from sqlalchemy import DateTime, String, Text, Uuid, bindparam, cast, func, insert, literal, select
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.envelope import Envelope, EventPayload
from shared.bus.tables import BusTables
from shared.clock import Clock
from shared.ids import uuid7_many
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
        for event_type in dict.fromkeys(payload.event_type for payload in payloads):
            of_type = [payload for payload in payloads if payload.event_type == event_type]
            await self.add_many_json(
                session,
                type(of_type[0]),
                [payload.model_dump(mode="json") for payload in of_type],
            )

    async def add_many_json(
        self,
        session: AsyncSession,
        payload_type: type[EventPayload],
        datas: Sequence[dict[str, Any]],
    ) -> None:
        """Stages events of one type whose `data` is already in JSON form — a batch job's fast
        path that skips building a model per event (its tests validate what it writes).
        One INSERT from arrays, so thousands of events cost one round trip."""
        if not datas:
            return
        now = self.clock.now()
        occurred_at = now.astimezone(UTC).isoformat().replace("+00:00", "Z")
        correlation_id = current_request_id()
        ids = uuid7_many(len(datas))
        envelopes = [
            json.dumps(
                {
                    "id": str(event_id),
                    "type": payload_type.event_type,
                    "version": payload_type.event_version,
                    "occurred_at": occurred_at,
                    "producer": self.producer,
                    "correlation_id": correlation_id,
                    "data": data,
                },
                separators=(",", ":"),
                ensure_ascii=False,
            )
            for event_id, data in zip(ids, datas, strict=True)
        ]
        table = self.table
        rows = select(
            func.unnest(bindparam("ids", ids, type_=ARRAY(Uuid))).label("event_id"),
            literal(payload_type.event_type, String).label("event_type"),
            cast(func.unnest(bindparam("envelopes", envelopes, type_=ARRAY(Text))), JSONB).label(
                "envelope"
            ),
            literal(now, DateTime(timezone=True)).label("created_at"),
        )
        await session.execute(
            insert(table).from_select(["event_id", "event_type", "envelope", "created_at"], rows)
        )
        self._wake_after_commit(session)

    def _wake_after_commit(self, session: AsyncSession) -> None:
        if not session.info.get("outbox_wakes_relay"):
            session.info["outbox_wakes_relay"] = True
            sa_event.listen(session.sync_session, "after_commit", self._on_commit)

    def _on_commit(self, _session: object) -> None:
        self.committed.set()
