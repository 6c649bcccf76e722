"""Every query of the invoices licensing issued for what dongle asked."""

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import Invoice


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def record_issued(
        self,
        *,
        invoice_id: uuid.UUID,
        reference_kind: str,
        reference_id: uuid.UUID,
        organization_id: uuid.UUID,
        price_codes: list[str],
        total: Decimal,
        issued_at: datetime,
    ) -> None:
        values = {
            "price_codes": price_codes,
            "total": total,
            "issued_at": issued_at,
        }
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

    async def record_paid(
        self,
        *,
        invoice_id: uuid.UUID,
        reference_kind: str,
        reference_id: uuid.UUID,
        organization_id: uuid.UUID,
        paid_at: datetime,
    ) -> None:
        await self.session.execute(
            insert(Invoice)
            .values(
                id=invoice_id,
                reference_kind=reference_kind,
                reference_id=reference_id,
                organization_id=organization_id,
                paid_at=paid_at,
            )
            .on_conflict_do_update(index_elements=[Invoice.id], set_={"paid_at": paid_at})
        )

    async def for_reference(self, kind: str, reference_id: uuid.UUID) -> list[Invoice]:
        rows = await self.session.scalars(
            select(Invoice)
            .where(Invoice.reference_kind == kind, Invoice.reference_id == reference_id)
            .order_by(Invoice.issued_at.asc().nulls_last(), Invoice.id)
        )
        return list(rows)
