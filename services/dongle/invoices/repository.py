"""Every query of the invoices licensing issued for what dongle asked."""

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import Invoice


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record(
        self,
        invoice_id: uuid.UUID,
        reference_kind: str,
        reference_id: uuid.UUID,
        organization_id: uuid.UUID,
        values: dict[str, object],
    ) -> None:
        """The invoice with what this event tells of it, whichever of its events came first."""
        await self.session.execute(
            insert(Invoice)
            .values(
                id=invoice_id,
                reference_kind=reference_kind,
                reference_id=reference_id,
                organization_id=organization_id,
                **values,
            )
            .on_conflict_do_update(index_elements=[Invoice.id], set_=values)
        )

    async def for_reference(self, kind: str, reference_id: uuid.UUID) -> list[Invoice]:
        rows = await self.session.scalars(
            select(Invoice)
            .where(Invoice.reference_kind == kind, Invoice.reference_id == reference_id)
            .order_by(Invoice.issued_at.asc().nulls_last(), Invoice.id)
        )
        return list(rows)
