"""Invoices and payments (rule 9), the reconciliation statement (rule 10): read by the
organization's contacts and accountant, payments recorded by an admin."""

import uuid
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request

from services.licensing.access import ReaderPrincipal, viewer_of
from services.licensing.billing.schemas import (
    InvoiceRead,
    PaymentCreate,
    PaymentImportReport,
    Reconciliation,
)
from services.licensing.billing.service import billing_service
from services.licensing.billing.statement import (
    CSV_TYPES,
    JSON_LINES_TYPES,
    STATEMENT_MAX_BYTES,
    media_type,
    read_statement,
    request_body,
)
from shared.auth import AdminPrincipal
from shared.db import SessionDep
from shared.pagination import Page, PageDep
from shared.problems import PROBLEM_MEDIA_TYPE, PROBLEM_RESPONSES, InvalidInput, Problem
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["financial documents"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/invoices", response_model=Page[InvoiceRead])
async def list_invoices(
    principal: ReaderPrincipal,
    session: SessionDep,
    page: PageDep,
) -> Page[InvoiceRead]:
    """The organization's invoices (its accountant's too); staff see every organization's."""
    invoices, next_cursor = await billing_service.list_for(
        session, viewer_of(principal, accountant=True), page
    )
    return Page(items=[InvoiceRead.of(invoice) for invoice in invoices], next_cursor=next_cursor)


@router.post("/api/v1/invoices/{invoice_id}/payments", response_model=InvoiceRead)
async def record_payment(
    invoice_id: uuid.UUID,
    body: PaymentCreate,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> InvoiceRead:
    """The same payment document again changes nothing; `licensing.invoice.paid` goes out
    once, when the payments cover the total."""
    invoice = await billing_service.record_payment(session, clock, outbox, admin, invoice_id, body)
    return InvoiceRead.of(invoice)


@router.post(
    "/api/v1/invoices/payment-imports",
    response_model=PaymentImportReport,
    responses={
        413: {
            "model": Problem,
            "content": {PROBLEM_MEDIA_TYPE: {}},
            "description": "The statement is larger than 5 MiB",
        }
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string"}} for kind in (*CSV_TYPES, *JSON_LINES_TYPES)
            },
        }
    },
)
async def import_payments(
    request: Request,
    admin: AdminPrincipal,
    session: SessionDep,
    clock: ClockDep,
    outbox: OutboxDep,
) -> PaymentImportReport:
    """A bank statement (CSV with a header `invoice_number,amount,date,reference`, or JSON
    lines with those keys), each line recorded as a payment of its invoice. A file with a line
    that cannot be read is a 422 naming every such line and field, and records nothing; a line
    that reads well is applied or reported (`duplicate`, `unknown_invoice`,
    `amount_mismatch`, `conflict`), each once, however often it is imported."""
    body = await request_body(request, STATEMENT_MAX_BYTES)
    statement = read_statement(media_type(request.headers.get("content-type")), body)
    return await billing_service.import_payments(session, clock, outbox, admin, statement)


@router.get(
    "/api/v1/reconciliation",
    response_model=Reconciliation,
    response_model_by_alias=True,
)
async def reconciliation_statement(
    principal: ReaderPrincipal,
    session: SessionDep,
    start: Annotated[date, Query(alias="from", description="First day (Moscow).")],
    to: Annotated[date, Query(description="Last day (Moscow), included.")],
    organization_id: Annotated[
        uuid.UUID | None, Query(description="Staff only: whose statement.")
    ] = None,
) -> Reconciliation:
    """Opening balance, every invoice, act and payment of the period, closing balance."""
    viewer = viewer_of(principal, accountant=True)
    whose = principal.organization_id
    if viewer.staff:
        if organization_id is None:
            raise InvalidInput("organization_id", "staff name the organization")
        whose = organization_id
    if whose is None:
        raise InvalidInput("organization_id", "the caller belongs to no organization")
    return await billing_service.reconciliation(session, whose, start, to)
