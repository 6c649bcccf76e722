"""Rules 9 and 10: invoices at the price in force and the organization's residency, payments,
and the reconciliation statement.

An invoice answers one request (a dongle protection subscription, a loss report, an identity
data-change request): the reference is unique, so a request delivered twice bills once. The
price is the one in force when the request was made (the event's time), resident or not by the
organization read model; a request about an organization licensing has not heard of yet waits
(`awaited_invoices`) and is invoiced when its registration arrives — residency is never guessed,
and nothing blocks the queue. A payment's document number is unique per invoice: recording it twice
records it once, and `licensing.invoice.paid` goes out when the payments first cover the total.

The reconciliation statement of an organization for [from, to] (Moscow dates): debit — every
invoice issued and every act of its contracts, credit — every payment; the opening balance is
debit minus credit before `from`, the closing balance the opening plus the period's lines.
"""

import secrets
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.access import Viewer
from services.licensing.billing.repository import InvoiceRepository
from services.licensing.billing.schemas import (
    ImportedLine,
    LineOutcome,
    PaymentCreate,
    PaymentImportReport,
    PaymentOutcome,
    Reconciliation,
    ReconciliationLine,
)
from services.licensing.billing.statement import StatementLine
from services.licensing.catalogue.price_codes import SERVICE_NAMES
from services.licensing.catalogue.repository import CatalogueRepository
from services.licensing.models import AwaitedInvoice, Invoice, InvoiceLine, Payment
from services.licensing.organizations.service import organization_read_model
from shared.auth import Principal
from shared.bus.outbox import Outbox
from shared.clock import Clock, business_date, business_midnight
from shared.db import duplicate_refused
from shared.events.common import Reference
from shared.events.licensing import InvoiceIssued, InvoicePaid
from shared.events.licensing import InvoiceItem as InvoiceItemEvent
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput, NotFound

ZERO = Decimal("0.00")


class PaymentFacts(Protocol):
    """What a payment is, whether an admin typed it or a bank statement's line carries it."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def paid_at(self) -> datetime: ...

    @property
    def document_number(self) -> str: ...


@dataclass(frozen=True)
class Order:
    price_code: str
    quantity: int = 1


def money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


class BillingService:
    async def invoice(
        self,
        session: AsyncSession,
        outbox: Outbox,
        organization_id: uuid.UUID,
        reference: Reference,
        orders: list[Order],
        requested_at: datetime,
    ) -> Invoice | None:
        """The invoice for a request (once per reference), at the prices of `requested_at`;
        None while the organization is not known yet."""
        invoices = InvoiceRepository(session)
        existing = await invoices.for_reference(reference)
        if existing is not None:
            return existing
        organization = await organization_read_model.find(session, organization_id)
        if organization is None:
            await invoices.await_organization(
                AwaitedInvoice(
                    organization_id=organization_id,
                    reference_service=reference.service,
                    reference_kind=reference.kind,
                    reference_id=reference.id,
                    price_codes=[
                        order.price_code for order in orders for _ in range(order.quantity)
                    ],
                    requested_at=requested_at,
                )
            )
            return None
        day = business_date(requested_at)
        catalogue = CatalogueRepository(session)
        version = await catalogue.version_in_force(day)
        if version is None:
            raise NotFound(f"No price list is in force on {day.isoformat()}")
        prices = {item.code: item for item in version.items}
        lines = []
        for position, order in enumerate(orders):
            item = prices.get(order.price_code)
            if item is None:
                raise NotFound(f"{order.price_code} has no price on {day.isoformat()}")
            unit = item.resident_price if organization.resident else item.non_resident_price
            name = item.product.name if item.product else SERVICE_NAMES.get(item.code, item.code)
            lines.append(
                InvoiceLine(
                    position=position,
                    price_code=order.price_code,
                    name=name,
                    quantity=order.quantity,
                    unit_price=unit,
                    amount=unit * order.quantity,
                )
            )
        invoice = Invoice(
            number=f"СЧ-{secrets.token_hex(4).upper()}",
            organization_id=organization_id,
            reference_service=reference.service,
            reference_kind=reference.kind,
            reference_id=reference.id,
            resident=organization.resident,
            price_list_effective_on=version.effective_from,
            total=sum((line.amount for line in lines), ZERO),
            status="issued",
            issued_at=requested_at,
            items=lines,
        )
        await invoices.add(invoice)
        await outbox.add(
            session,
            InvoiceIssued(
                invoice_id=invoice.id,
                number=invoice.number,
                organization_id=organization_id,
                reference=reference,
                resident=invoice.resident,
                price_list_effective_on=invoice.price_list_effective_on,
                items=[
                    InvoiceItemEvent(
                        price_code=line.price_code,
                        name=line.name,
                        quantity=line.quantity,
                        unit_price=line.unit_price,
                        amount=line.amount,
                    )
                    for line in lines
                ],
                total=invoice.total,
            ),
        )
        return invoice

    async def issue_awaited(
        self, session: AsyncSession, outbox: Outbox, organization_id: uuid.UUID
    ) -> None:
        """The organization is known now: the requests that waited for it are invoiced."""
        for awaited in await InvoiceRepository(session).take_awaited(organization_id):
            await self.invoice(
                session,
                outbox,
                organization_id,
                Reference(
                    service=awaited.reference_service,
                    kind=awaited.reference_kind,
                    id=awaited.reference_id,
                ),
                [Order(code) for code in awaited.price_codes],
                awaited.requested_at,
            )

    async def list_for(
        self, session: AsyncSession, viewer: Viewer, params: PageParams
    ) -> tuple[list[Invoice], str | None]:
        return await InvoiceRepository(session).page_for(viewer, params)

    async def record_payment(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        invoice_id: uuid.UUID,
        asked: PaymentCreate,
    ) -> Invoice:
        invoice = await InvoiceRepository(session).get(invoice_id, for_update=True)
        if invoice is None:
            raise NotFound("No such invoice")
        outcome, due = await self._pay(session, clock, outbox, admin, invoice, asked)
        if outcome == "conflict":
            raise Conflict("This payment document was recorded with another amount")
        if outcome == "amount_mismatch":
            raise InvalidInput("amount", f"is more than the amount due ({money(due)})")
        return invoice  # applied, or the same payment again: recorded once

    async def import_payments(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        statement: list[StatementLine],
    ) -> PaymentImportReport:
        """Each line of a bank statement recorded as a payment of its invoice, in the file's
        order, as `record_payment` records one; what a line cannot change is reported on it."""
        invoices = await InvoiceRepository(session).with_numbers(
            line.invoice_number for line in statement
        )
        report = []
        for line in statement:
            invoice = invoices.get(line.invoice_number)
            detail = None
            if invoice is None:
                outcome: LineOutcome = "unknown_invoice"
                detail = "No invoice has this number"
            else:
                outcome, due = await self._pay(session, clock, outbox, admin, invoice, line)
                if outcome == "amount_mismatch":
                    detail = f"More than the amount due ({money(due)})"
                elif outcome == "conflict":
                    detail = "This payment reference was recorded with another amount"
            report.append(
                ImportedLine(
                    line=line.line,
                    invoice_number=line.invoice_number,
                    amount=line.amount,
                    paid_on=line.paid_on,
                    reference=line.reference,
                    outcome=outcome,
                    invoice_id=invoice.id if invoice else None,
                    invoice_status=invoice.status if invoice else None,
                    detail=detail,
                )
            )
        counts = Counter(line.outcome for line in report)
        return PaymentImportReport(lines=report, counts=dict(counts))

    async def _pay(
        self,
        session: AsyncSession,
        clock: Clock,
        outbox: Outbox,
        admin: Principal,
        invoice: Invoice,
        payment: PaymentFacts,
    ) -> tuple[PaymentOutcome, Decimal]:
        """Records one payment of a locked invoice, once per document number, and the amount
        that was due before it. The invoice is `paid` when the payments first cover its total:
        `licensing.invoice.paid`, once."""
        amount, paid_at, document_number = payment.amount, payment.paid_at, payment.document_number
        invoices = InvoiceRepository(session)
        existing = await invoices.payment(invoice.id, document_number)
        if existing is not None:
            return ("duplicate" if existing.amount == amount else "conflict"), ZERO
        if amount <= 0:
            raise InvalidInput("amount", "must be more than zero")
        due = invoice.total - await invoices.paid_so_far(invoice.id)
        if amount > due:
            return "amount_mismatch", due
        async with duplicate_refused(
            session, Conflict("This payment document was recorded already")
        ):
            await invoices.add(
                Payment(
                    invoice_id=invoice.id,
                    organization_id=invoice.organization_id,
                    amount=amount,
                    paid_at=paid_at,
                    document_number=document_number,
                    recorded_at=clock.now(),
                    recorded_by=admin.user_id,
                )
            )
        if amount == due:
            invoice.status = "paid"
            invoice.paid_at = paid_at
            await session.flush()
            await outbox.add(
                session,
                InvoicePaid(
                    invoice_id=invoice.id,
                    number=invoice.number,
                    organization_id=invoice.organization_id,
                    reference=self.reference_of(invoice),
                    amount=invoice.total,
                    paid_at=paid_at,
                ),
            )
        return "applied", due

    async def reconciliation(
        self, session: AsyncSession, organization_id: uuid.UUID, start: date, end: date
    ) -> Reconciliation:
        if end < start:
            raise InvalidInput("to", "is before from")
        if end >= date.max - timedelta(days=1):
            raise InvalidInput("to", "is past the end of the calendar")
        invoices = InvoiceRepository(session)
        period_start, period_end = business_midnight(start), business_midnight(end + timedelta(1))
        opening = ZERO
        for invoice in await invoices.invoices_between(organization_id, None, period_start):
            opening += invoice.total
        for act in await invoices.acts_between(organization_id, None, start):
            opening += act.total
        for payment in await invoices.payments_between(organization_id, None, period_start):
            opening -= payment.amount
        lines = [
            ReconciliationLine(
                date=business_date(i.issued_at),
                document=f"Счёт {i.number}",
                debit=i.total,
                credit=ZERO,
            )
            for i in await invoices.invoices_between(organization_id, period_start, period_end)
        ]
        lines += [
            ReconciliationLine(
                date=a.act_date, document=f"Акт {a.number}", debit=a.total, credit=ZERO
            )
            for a in await invoices.acts_between(organization_id, start, end + timedelta(1))
        ]
        lines += [
            ReconciliationLine(
                date=business_date(p.paid_at),
                document=f"Оплата {p.document_number}",
                debit=ZERO,
                credit=p.amount,
            )
            for p in await invoices.payments_between(organization_id, period_start, period_end)
        ]
        lines.sort(key=lambda line: (line.date, line.credit > 0, line.document))
        closing = opening + sum((line.debit - line.credit for line in lines), ZERO)
        return Reconciliation(
            from_=start,
            to=end,
            opening_balance=money(opening),
            lines=lines,
            closing_balance=money(closing),
        )

    @staticmethod
    def reference_of(invoice: Invoice) -> Reference | None:
        if invoice.reference_id is None:
            return None
        return Reference(
            service=invoice.reference_service,
            kind=invoice.reference_kind or "",
            id=invoice.reference_id,
        )


billing_service = BillingService()
