"""Every query of invoices, payments and the reconciliation statement."""

import uuid
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.models import Act, AwaitedInvoice, Contract, Invoice, Payment
from shared.events.common import Reference
from shared.pagination import PageParams, paginate


class InvoiceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def await_organization(self, row: AwaitedInvoice) -> None:
        """Keeps the request until its organization is known (a repeat is kept once)."""
        statement = insert(AwaitedInvoice).values(
            organization_id=row.organization_id,
            reference_service=row.reference_service,
            reference_kind=row.reference_kind,
            reference_id=row.reference_id,
            price_codes=row.price_codes,
            requested_at=row.requested_at,
        )
        await self.session.execute(statement.on_conflict_do_nothing())

    async def take_awaited(self, organization_id: uuid.UUID) -> list[AwaitedInvoice]:
        """The requests that waited for this organization, removed from the waiting list."""
        rows = list(
            await self.session.scalars(
                delete(AwaitedInvoice)
                .where(AwaitedInvoice.organization_id == organization_id)
                .returning(AwaitedInvoice)
            )
        )
        return sorted(rows, key=lambda row: row.requested_at)

    async def add(self, row: Invoice | Payment) -> None:
        self.session.add(row)
        await self.session.flush()

    async def for_reference(self, reference: Reference) -> Invoice | None:
        return await self.session.scalar(
            select(Invoice).where(
                Invoice.reference_service == reference.service,
                Invoice.reference_kind == reference.kind,
                Invoice.reference_id == reference.id,
            )
        )

    async def get(self, invoice_id: uuid.UUID, *, for_update: bool = False) -> Invoice | None:
        statement = select(Invoice).where(Invoice.id == invoice_id)
        if for_update:
            statement = statement.with_for_update()
        return await self.session.scalar(statement)

    async def with_numbers(self, numbers: Iterable[str]) -> dict[str, Invoice]:
        """The invoices of these numbers, locked in one fixed order (two imports naming the same
        invoices never wait for each other in a circle)."""
        found = await self.session.scalars(
            select(Invoice)
            .where(Invoice.number.in_(sorted(set(numbers))))
            .order_by(Invoice.id)
            .with_for_update()
        )
        return {invoice.number: invoice for invoice in found}

    async def page_for(
        self, viewer: Viewer, params: PageParams
    ) -> tuple[list[Invoice], str | None]:
        statement = select(Invoice).where(viewer.sees(Invoice.organization_id))
        return await paginate(self.session, statement, [Invoice.id], params)

    async def payment(self, invoice_id: uuid.UUID, document_number: str) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(
                Payment.invoice_id == invoice_id, Payment.document_number == document_number
            )
        )

    async def paid_so_far(self, invoice_id: uuid.UUID) -> Decimal:
        total = await self.session.scalar(
            select(func.coalesce(func.sum(Payment.amount), 0)).where(
                Payment.invoice_id == invoice_id
            )
        )
        return Decimal(total or 0)

    async def invoices_between(
        self, organization_id: uuid.UUID, start: datetime | None, end: datetime
    ) -> list[Invoice]:
        statement = select(Invoice).where(
            Invoice.organization_id == organization_id, Invoice.issued_at < end
        )
        if start is not None:
            statement = statement.where(Invoice.issued_at >= start)
        return list(await self.session.scalars(statement.order_by(Invoice.issued_at)))

    async def payments_between(
        self, organization_id: uuid.UUID, start: datetime | None, end: datetime
    ) -> list[Payment]:
        statement = select(Payment).where(
            Payment.organization_id == organization_id, Payment.paid_at < end
        )
        if start is not None:
            statement = statement.where(Payment.paid_at >= start)
        return list(await self.session.scalars(statement.order_by(Payment.paid_at)))

    async def acts_between(
        self, organization_id: uuid.UUID, start: date | None, end: date
    ) -> list[Act]:
        """Acts of the organization's contracts dated in [start, end)."""
        statement = (
            select(Act)
            .join(Act.contract)
            .where(Contract.organization_id == organization_id, Act.act_date < end)
        )
        if start is not None:
            statement = statement.where(Act.act_date >= start)
        return list(await self.session.scalars(statement.order_by(Act.act_date)))
