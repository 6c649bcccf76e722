"""Invoices, payments (rule 9) and the reconciliation statement (rule 10)."""

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from services.licensing.models import Invoice
from shared.events.common import Money, Reference


class InvoiceLineRead(BaseModel):
    code: str
    name: str
    quantity: int
    unit_price: Money
    amount: Money


class InvoiceRead(BaseModel):
    id: uuid.UUID
    number: str
    status: Literal["issued", "paid"]
    reference: Reference | None
    items: list[InvoiceLineRead]
    total: Money
    issued_at: datetime
    paid_at: datetime | None

    @classmethod
    def of(cls, invoice: Invoice) -> "InvoiceRead":
        reference = None
        if invoice.reference_id is not None:
            reference = Reference(
                service=invoice.reference_service,
                kind=invoice.reference_kind or "",
                id=invoice.reference_id,
            )
        return cls(
            id=invoice.id,
            number=invoice.number,
            status=invoice.status,
            reference=reference,
            items=[
                InvoiceLineRead(
                    code=line.price_code,
                    name=line.name,
                    quantity=line.quantity,
                    unit_price=line.unit_price,
                    amount=line.amount,
                )
                for line in invoice.items
            ],
            total=invoice.total,
            issued_at=invoice.issued_at,
            paid_at=invoice.paid_at,
        )


class PaymentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    amount: Money = Field(description="Roubles paid, more than zero.")
    paid_at: AwareDatetime
    document_number: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)
    ] = Field(description="The payment order's number; the same number again is the same payment.")


class ReconciliationLine(BaseModel):
    date: date
    document: str = Field(description="What the line is, e.g. `Счёт СЧ-1A2B3C4D`.")
    debit: Money
    credit: Money


class Reconciliation(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")
    to: date
    opening_balance: Annotated[str, Field(description="Debit minus credit before `from`.")]
    lines: list[ReconciliationLine]
    closing_balance: Annotated[str, Field(description="Opening + debits − credits.")]


PaymentOutcome = Literal["applied", "duplicate", "conflict", "amount_mismatch"]
LineOutcome = Literal["applied", "duplicate", "conflict", "amount_mismatch", "unknown_invoice"]


class ImportedLine(BaseModel):
    line: int = Field(description="The line's number in the file.")
    invoice_number: str
    amount: Money
    paid_on: date
    reference: str = Field(description="The payment reference (the payment order's number).")
    outcome: LineOutcome = Field(
        description="`applied` (recorded now), `duplicate` (recorded before, by an earlier line "
        "or import: counted once), `unknown_invoice`, `amount_mismatch` (more than is still "
        "due), `conflict` (this reference was recorded for the invoice with another amount)."
    )
    invoice_id: uuid.UUID | None = None
    invoice_status: Literal["issued", "paid"] | None = Field(
        default=None, description="The invoice's status after the line."
    )
    detail: str | None = None


class PaymentImportReport(BaseModel):
    lines: list[ImportedLine]
    counts: dict[LineOutcome, int] = Field(description="How many lines had each outcome.")
