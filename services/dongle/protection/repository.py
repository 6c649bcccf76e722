"""Every query of protection subscriptions and their history."""

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    String,
    Table,
    Uuid,
    bindparam,
    exists,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession
from uuid6 import uuid7

from services.dongle.models import (
    LIVE_STATUSES,
    KeyLicense,
    ProtectionKey,
    ProtectionSubscription,
    SubscriptionChange,
)

# The actor of a change an event or the clock caused.
SYSTEM = "system"


def _cancel_unlicensed_statement() -> Any:
    """Built once (a CTE costs more to build than to run); see `cancel_unlicensed`."""
    subscriptions = cast(Table, ProtectionSubscription.__table__)
    changes = cast(Table, SubscriptionChange.__table__)
    keys = cast(Table, ProtectionKey.__table__)
    licenses = cast(Table, KeyLicense.__table__)
    at = bindparam("at", type_=changes.c.at.type)
    reason = bindparam("reason", type_=String)
    ids = select(
        func.unnest(bindparam("key_ids", type_=ARRAY(Uuid))).label("key_id"),
        func.unnest(bindparam("change_ids", type_=ARRAY(Uuid))).label("change_id"),
    ).cte("ids")
    due = (
        select(subscriptions.c.id, subscriptions.c.status, ids.c.change_id)
        .join(ids, ids.c.key_id == subscriptions.c.key_id)
        .where(
            subscriptions.c.status.in_(("active", "lapsed")),
            ~exists().where(
                licenses.c.key_id == subscriptions.c.key_id, licenses.c.status == "active"
            ),
        )
        .with_for_update(of=subscriptions)
        .cte("due")
    )
    cancelled = (
        update(subscriptions)
        .where(subscriptions.c.id == due.c.id, keys.c.id == subscriptions.c.key_id)
        .values(status="cancelled", ended_at=at, cancel_reason=reason)
        .returning(
            subscriptions.c.id,
            subscriptions.c.organization_id,
            keys.c.serial,
            due.c.status.label("from_status"),
            due.c.change_id,
        )
        .cte("cancelled")
    )
    history = (
        insert(changes)
        .from_select(
            ["id", "subscription_id", "at", "from_status", "to_status", "reason", "actor"],
            select(
                cancelled.c.change_id,
                cancelled.c.id,
                at,
                cancelled.c.from_status,
                literal("cancelled", String),
                reason,
                literal(SYSTEM, String),
            ),
        )
        .cte("history")
    )
    return (
        select(cancelled.c.id, cancelled.c.organization_id, cancelled.c.serial)
        .add_cte(history)
        .order_by(cancelled.c.serial)
    )


CANCEL_UNLICENSED = _cancel_unlicensed_statement()


class SubscriptionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, subscription: ProtectionSubscription) -> None:
        self.session.add(subscription)
        await self.session.flush()

    async def with_id(self, subscription_id: uuid.UUID) -> ProtectionSubscription | None:
        return await self.session.scalar(
            select(ProtectionSubscription)
            .where(ProtectionSubscription.id == subscription_id)
            .with_for_update()
        )

    async def live_on_key(self, key_id: uuid.UUID) -> ProtectionSubscription | None:
        return await self.session.scalar(
            select(ProtectionSubscription)
            .where(
                ProtectionSubscription.key_id == key_id,
                ProtectionSubscription.status.in_(LIVE_STATUSES),
            )
            .with_for_update()
        )

    async def cancel_unlicensed(
        self, key_ids: Sequence[uuid.UUID], at: datetime, reason: str
    ) -> Sequence[Any]:
        """Rule 7 in one statement: cancels the active or lapsed subscription of each of these
        keys that has no active license left, and writes each change into the history (actor
        `system`). Returns `(subscription_id, organization_id, serial)` of each cancelled."""
        rows = await self.session.execute(
            CANCEL_UNLICENSED,
            {
                "key_ids": list(key_ids),
                # Each key's history row gets its id here: ids keep growing in time (uuid7).
                "change_ids": [uuid7() for _ in key_ids],
                "at": at,
                "reason": reason,
            },
        )
        return rows.all()

    async def live_on_keys(self, key_ids: list[uuid.UUID]) -> list[ProtectionSubscription]:
        rows = await self.session.scalars(
            select(ProtectionSubscription)
            .where(
                ProtectionSubscription.key_id.in_(key_ids),
                ProtectionSubscription.status.in_(LIVE_STATUSES),
            )
            .order_by(ProtectionSubscription.key_id)
            .with_for_update()
        )
        return list(rows)

    async def due_for_maintenance_check(self, now: datetime) -> list[uuid.UUID]:
        """Keys whose active subscription outlived maintenance, or whose lapsed one can no
        longer resume."""
        rows = await self.session.scalars(
            select(ProtectionSubscription.key_id)
            .join(ProtectionKey, ProtectionKey.id == ProtectionSubscription.key_id)
            .where(
                or_(
                    (ProtectionSubscription.status == "active")
                    & (
                        ProtectionKey.maintenance_ends_at.is_(None)
                        | (ProtectionKey.maintenance_ends_at <= now)
                    ),
                    (ProtectionSubscription.status == "lapsed")
                    & (ProtectionSubscription.resumable_until <= now),
                )
            )
            .order_by(ProtectionSubscription.key_id)
            .limit(1000)
        )
        return list(rows)

    async def add_change(self, change: SubscriptionChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history_of_key(self, key_id: uuid.UUID) -> list[SubscriptionChange]:
        rows = await self.session.scalars(
            select(SubscriptionChange)
            .join(
                ProtectionSubscription,
                ProtectionSubscription.id == SubscriptionChange.subscription_id,
            )
            .where(ProtectionSubscription.key_id == key_id)
            .order_by(SubscriptionChange.at, SubscriptionChange.id)
        )
        return list(rows)
