"""Invoices licensing issued for what dongle asked (a protection subscription, a lost key's
replacement) and their payment, in whichever order the two events arrive."""

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.invoices.repository import InvoiceRepository
from services.dongle.protection.service import protection_service
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.events.common import Reference
from shared.events.licensing import InvoiceIssued, InvoicePaid

SUBSCRIPTION = "protection_subscription"
LOSS_REPORT = "loss_report"
OURS = (SUBSCRIPTION, LOSS_REPORT)


class InvoiceService:
    async def issued(
        self, session: AsyncSession, event: InvoiceIssued, occurred_at: datetime
    ) -> None:
        price_codes = [item.price_code for item in event.items]
        values = {"price_codes": price_codes, "total": event.total, "issued_at": occurred_at}
        reference = await self._record(session, event, values)
        if reference is not None and reference.kind == SUBSCRIPTION:
            await protection_service.invoice_issued(
                session, reference.id, event.invoice_id, event.total
            )

    async def paid(
        self, session: AsyncSession, clock: Clock, outbox: Outbox, event: InvoicePaid
    ) -> None:
        reference = await self._record(session, event, {"paid_at": event.paid_at})
        if reference is not None and reference.kind == SUBSCRIPTION:
            await protection_service.invoice_paid(
                session, clock, outbox, reference.id, event.invoice_id
            )

    async def _record(
        self, session: AsyncSession, event: InvoiceIssued | InvoicePaid, values: dict[str, object]
    ) -> Reference | None:
        """Keeps what the event tells of an invoice for something dongle asked; the reference,
        or None for anyone else's invoice."""
        reference = event.reference
        if reference is None or reference.service != "dongle" or reference.kind not in OURS:
            return None
        await InvoiceRepository(session).record(
            event.invoice_id, reference.kind, reference.id, event.organization_id, values
        )
        return reference


invoice_service = InvoiceService()
