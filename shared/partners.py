"""A partner's customers as licensing states them (`licensing.partner.customer_linked`): the
read model every service that lets a partner act "for its customers" keeps (helpdesk for
tickets, dongle for key imports) — one table in the service's own schema, one set of queries.

A link is only ever added, never undone, so applying it is an insert-if-absent: redeliveries,
replays and any order of delivery end in the same rows.
"""

import uuid

from sqlalchemy import Column, DateTime, MetaData, Select, Table, Uuid, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.bus.envelope import Envelope
from shared.events.licensing import PartnerCustomerLinked


class PartnerCustomers:
    """The `partner_customers` table of one service and its queries."""

    def __init__(self, metadata: MetaData) -> None:
        self.table = Table(
            "partner_customers",
            metadata,
            Column("partner_id", Uuid, primary_key=True),
            Column("organization_id", Uuid, primary_key=True),
            Column("linked_at", DateTime(timezone=True), nullable=False),
        )

    async def apply(
        self, session: AsyncSession, event: PartnerCustomerLinked, envelope: Envelope
    ) -> None:
        """The event handler: the link, unless it is known already."""
        await session.execute(
            insert(self.table)
            .values(
                partner_id=event.partner_id,
                organization_id=event.organization_id,
                linked_at=event.linked_at,
            )
            .on_conflict_do_nothing(index_elements=["partner_id", "organization_id"])
        )

    def of(self, partner_id: uuid.UUID) -> Select[tuple[uuid.UUID]]:
        """The partner's customers, to use in a query (`Organization.id.in_(…)`)."""
        return select(self.table.c.organization_id).where(self.table.c.partner_id == partner_id)

    async def is_customer(
        self, session: AsyncSession, partner_id: uuid.UUID, organization_id: uuid.UUID
    ) -> bool:
        found = await session.scalar(
            self.of(partner_id).where(self.table.c.organization_id == organization_id)
        )
        return found is not None
