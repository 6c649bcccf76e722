"""Every query of protection keys and of what a key's view shows."""

import uuid
from collections import defaultdict

from sqlalchemy import Select, select
from sqlalchemy.dialects.postgresql import distinct_on
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import (
    KeyLicense,
    Organization,
    ProtectionKey,
    ProtectionSubscription,
    partner_customers,
)
from shared.pagination import PageParams, paginate


class KeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, key: ProtectionKey) -> ProtectionKey:
        self.session.add(key)
        await self.session.flush()
        return key

    async def with_serial(self, serial: str, *, for_update: bool = False) -> ProtectionKey | None:
        statement = select(ProtectionKey).where(ProtectionKey.serial == serial)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def with_id(self, key_id: uuid.UUID) -> ProtectionKey | None:
        return await self.session.get(ProtectionKey, key_id)

    async def page(
        self, params: PageParams, *, organization_ids: list[uuid.UUID] | None
    ) -> tuple[list[ProtectionKey], str | None]:
        """Keys by serial; only those of `organization_ids` unless it is None."""
        statement: Select[ProtectionKey] = select(ProtectionKey)
        if organization_ids is not None:
            statement = statement.where(ProtectionKey.organization_id.in_(organization_ids))
        return await paginate(self.session, statement, [ProtectionKey.serial], params)

    async def licenses_by_key(self, key_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[KeyLicense]]:
        rows = await self.session.scalars(
            select(KeyLicense)
            .where(KeyLicense.key_id.in_(key_ids))
            .order_by(KeyLicense.product_code, KeyLicense.id)
        )
        by_key: dict[uuid.UUID, list[KeyLicense]] = defaultdict(list)
        for license_ in rows:
            if license_.key_id is not None:
                by_key[license_.key_id].append(license_)
        return by_key

    async def shown_subscriptions(
        self, key_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, ProtectionSubscription]:
        """Per key: its live subscription if it has one, else its latest."""
        rows = await self.session.scalars(
            select(ProtectionSubscription)
            .where(ProtectionSubscription.key_id.in_(key_ids))
            .ext(distinct_on(ProtectionSubscription.key_id))
            .order_by(
                ProtectionSubscription.key_id,
                (ProtectionSubscription.status == "cancelled").asc(),
                ProtectionSubscription.created_at.desc(),
                ProtectionSubscription.id.desc(),
            )
        )
        return {subscription.key_id: subscription for subscription in rows}

    async def organizations_with_inn(
        self, inn: str, partner_id: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """At most two: enough to tell one organization from an ambiguous INN. With a partner:
        only the partner itself and its customers."""
        statement = select(Organization.id).where(Organization.inn == inn)
        if partner_id is not None:
            customers = partner_customers.of(partner_id)
            statement = statement.where(
                (Organization.id == partner_id) | Organization.id.in_(customers)
            )
        rows = await self.session.scalars(statement.limit(2))
        return list(rows)
