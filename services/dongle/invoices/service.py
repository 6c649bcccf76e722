"""Invoices licensing issued for what dongle asked (a protection subscription, a lost key's
replacement) and their payment, in whichever order the two events arrive."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.invoices.repository import InvoiceRepository
from services.dongle.protection.service import protection_service
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.licensing import InvoiceIssued, InvoicePaid

SUBSCRIPTION = "protection_subscription"
LOSS_REPORT = "loss_report"
OURS = (SUBSCRIPTION, LOSS_REPORT)


class InvoiceService:
    async def issued(
        self, session: AsyncSession, event: InvoiceIssued, occurred_at: datetime
    ) -> None:
        reference = event.reference
        if reference is None or reference.service != "dongle" or reference.kind not in OURS:
            return
        await InvoiceRepository(session).record_issued(
            invoice_id=event.invoice_id,
            reference_kind=reference.kind,
            reference_id=reference.id,
            organization_id=event.organization_id,
            price_codes=[item.price_code for item in event.items],
            total=event.total,
            issued_at=occurred_at,
        )
        if reference.kind == SUBSCRIPTION:
            await protection_service.invoice_issued(
                session, reference.id, event.invoice_id, event.total
            )

    async def paid(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, event: InvoicePaid
    ) -> None:
        reference = event.reference
        if reference is None or reference.service != "dongle" or reference.kind not in OURS:
            return
        await InvoiceRepository(session).record_paid(
            invoice_id=event.invoice_id,
            reference_kind=reference.kind,
            reference_id=reference.id,
            organization_id=event.organization_id,
            paid_at=event.paid_at,
        )
        if reference.kind == SUBSCRIPTION:
            await protection_service.invoice_paid(
                session, clock, outbox, reference.id, event.invoice_id
            )


invoice_service = InvoiceService()
