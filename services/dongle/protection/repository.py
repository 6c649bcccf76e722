"""Every query of protection subscriptions and their history."""

import uuid
from datetime import datetime

from sqlalchemy import exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import (
    LIVE_STATUSES,
    KeyLicense,
    ProtectionKey,
    ProtectionSubscription,
    SubscriptionChange,
)


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

    async def protecting_unlicensed_key(self, key_id: uuid.UUID) -> ProtectionSubscription | None:
        """The key's active or lapsed subscription, if the key has no active license left
        (one query: rule 7 runs on every lapsed license)."""
        return await self.session.scalar(
            select(ProtectionSubscription)
            .where(
                ProtectionSubscription.key_id == key_id,
                ProtectionSubscription.status.in_(("active", "lapsed")),
                ~exists().where(KeyLicense.key_id == key_id, KeyLicense.status == "active"),
            )
            .with_for_update()
        )

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
