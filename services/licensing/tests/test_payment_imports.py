"""Payments imported from a bank statement (rule 9, "or imports it"): CSV or JSON lines, each
line matched to its invoice and recorded once however often it is imported, the invoice paid
once, a report per line; a file with a line that cannot be read records nothing."""

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, datetime

from services.licensing.billing.service import Order, billing_service
from services.licensing.billing.statement import STATEMENT_MAX_BYTES
from services.licensing.tests.factories import events_about, known_organization
from shared.events.common import Reference

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PATH = "/api/v1/invoices/payment-imports"


async def invoice(licensing, org):
    """A `KEY_PROTECTION` invoice (4900.00), issued as a protection request issues it."""
    async with licensing.app.state.sessionmaker() as session, session.begin():
        issued = await billing_service.invoice(
            session,
            licensing.app.state.runtime.outbox,
            org,
            Reference(service="dongle", kind="protection_subscription", id=uuid.uuid4()),
            [Order("KEY_PROTECTION")],
            NOW,
        )
        assert issued is not None
        return issued.id, issued.number


async def send(licensing, body, content_type="text/csv", headers=None):
    return await licensing.client.post(
        PATH,
        content=body.encode() if isinstance(body, str) else body,
        headers={"Content-Type": content_type, **(headers or licensing.as_admin())},
    )


async def invoice_state(licensing, org, invoice_id):
    listed = await licensing.client.get("/api/v1/invoices", headers=licensing.as_contact(org))
    [found] = [i for i in listed.json()["items"] if i["id"] == str(invoice_id)]
    return found["status"], found["paid_at"]


async def paid_events(licensing, invoice_id):
    return await events_about(licensing, "licensing.invoice.paid", "invoice_id", invoice_id)


def outcomes(report):
    return [(line["line"], line["outcome"]) for line in report["lines"]]


async def test_a_statement_is_applied_line_by_line_and_each_line_counts_once(licensing):
    org = await known_organization(licensing)
    (a_id, a), (b_id, b) = await invoice(licensing, org), await invoice(licensing, org)
    statement = "\n".join(
        [
            "invoice_number;amount;date;reference",
            f"{a};4 900,00;03.11.2026;ПП-101",
            f"{b};1000.00;2026-11-03;ПП-102",
            f"{b};1000.00;2026-11-03;ПП-102",  # the same line twice: counted once
            "СЧ-NOSUCH01;10.00;2026-11-03;ПП-103",
            f"{b};3900.01;2026-11-03;ПП-104",  # more than the 3900.00 still due
            f"{b};999.00;2026-11-03;ПП-102",  # the reference again with another amount
            f"{a.lower()};1,00;2026-11-04;ПП-105",  # paid in full already
        ]
    )

    first = await send(licensing, statement)

    assert first.status_code == 200, first.text
    report = first.json()
    assert outcomes(report) == [
        (2, "applied"),
        (3, "applied"),
        (4, "duplicate"),
        (5, "unknown_invoice"),
        (6, "amount_mismatch"),
        (7, "conflict"),
        (8, "amount_mismatch"),
    ]
    assert [line["invoice_status"] for line in report["lines"][:3]] == ["paid", "issued", "issued"]
    assert report["lines"][0]["amount"] == "4900.00"
    assert report["lines"][3]["invoice_id"] is None
    assert report["counts"] == {
        "applied": 2,
        "duplicate": 1,
        "unknown_invoice": 1,
        "amount_mismatch": 2,
        "conflict": 1,
    }
    # Paid on the statement's day, Moscow time.
    assert await invoice_state(licensing, org, a_id) == ("paid", "2026-11-02T21:00:00Z")

    # A later statement (JSON lines) repeats a line and brings the rest of B.
    later = "\n".join(
        json.dumps(line, ensure_ascii=False)
        for line in [
            {"invoice_number": a, "amount": "4900.00", "date": "2026-11-03", "reference": "ПП-101"},
            {"invoice_number": b, "amount": 3900, "date": "2026-11-05", "reference": "ПП-106"},
        ]
    )
    second = await send(licensing, later, "application/x-ndjson")

    assert second.status_code == 200, second.text
    assert outcomes(second.json()) == [(1, "duplicate"), (2, "applied")]
    assert second.json()["lines"][1]["invoice_status"] == "paid"
    assert await invoice_state(licensing, org, b_id) == ("paid", "2026-11-04T21:00:00Z")
    again = await send(licensing, later, "application/x-ndjson")
    assert outcomes(again.json()) == [(1, "duplicate"), (2, "duplicate")]
    for invoice_id, total in ((a_id, "4900.00"), (b_id, "4900.00")):
        assert [e["amount"] for e in await paid_events(licensing, invoice_id)] == [total]


async def test_a_statement_with_an_unreadable_line_records_nothing_and_names_each_line(licensing):
    org = await known_organization(licensing)
    invoice_id, number = await invoice(licensing, org)
    statement = "\n".join(
        [
            "date,invoice_number,amount,reference,purpose",  # any order, extra columns ignored
            f"2026-11-03,{number},4900.00,ПП-1,оплата",
            f"2026-11-03,{number},abc,ПП-2,оплата",
            f"31.02.2026,{number},-5,ПП-3,оплата",
            f"2026-11-03,{number},1.005,,оплата",
            f"2026-11-03,{number}",
        ]
    )

    response = await send(licensing, statement)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert sorted(error["field"] for error in response.json()["errors"]) == [
        "lines[3].amount",
        "lines[4].amount",
        "lines[4].date",
        "lines[5].amount",
        "lines[5].reference",
        "lines[6]",
    ]
    assert await invoice_state(licensing, org, invoice_id) == ("issued", None)
    # Mended, the same statement applies: its first line was never recorded.
    mended = "\n".join(statement.split("\n")[:2])
    assert outcomes((await send(licensing, mended)).json()) == [(2, "applied")]
    assert len(await paid_events(licensing, invoice_id)) == 1


async def test_what_is_not_a_statement_is_a_422_naming_the_field(licensing):
    number = (await invoice(licensing, await known_organization(licensing)))[1]
    line = {"invoice_number": number, "amount": "1.00", "date": "2026-11-03", "reference": "X"}

    cases = [
        (json.dumps(line), "application/json", "Content-Type"),
        ("invoice_number,amount,date\n", "text/csv", "lines[1]"),
        ("", "text/csv", "body"),
        ("invoice_number,amount,date,reference\n", "text/csv", "body"),
        (json.dumps(line) + "\n{not json\n[1]", "application/x-ndjson", "lines[2]"),
        ("[" * 100_000, "application/x-ndjson", "lines[1]"),
        (b"\x98\xff\x00", "text/csv", "body"),
    ]
    for body, content_type, field in cases:
        response = await send(licensing, body, content_type)
        assert response.status_code == 422, (content_type, body[:40], response.text)
        assert field in [error["field"] for error in response.json()["errors"]], response.text
    too_large = await send(licensing, "x" * (STATEMENT_MAX_BYTES + 1))
    assert too_large.status_code == 413
    assert too_large.json()["errors"][0]["field"] == "body"


async def test_only_an_admin_imports_payments(licensing):
    org = await known_organization(licensing)
    statement = "invoice_number,amount,date,reference\nСЧ-1,1.00,2026-11-03,X\n"

    for headers in (
        licensing.as_contact(org),
        licensing.as_accountant(org),
        licensing.as_agent(),
        licensing.as_api_key(org, scopes=("read", "licenses:write", "contracts:write")),
    ):
        assert (await send(licensing, statement, headers=headers)).status_code == 403
    assert (await licensing.client.post(PATH, content=statement)).status_code == 401


async def test_the_same_statement_imported_twice_at_once_pays_each_invoice_once(licensing):
    org = await known_organization(licensing)
    invoices = [await invoice(licensing, org) for _ in range(4)]
    lines = [f"{number},4900.00,2026-11-03,ПП-{i}" for i, (_, number) in enumerate(invoices)]
    forward = "\n".join(["invoice_number,amount,date,reference", *lines])
    backward = "\n".join(["invoice_number,amount,date,reference", *reversed(lines)])

    reports = await asyncio.gather(send(licensing, forward), send(licensing, backward))

    assert [r.status_code for r in reports] == [200, 200]
    counted = Counter(line["outcome"] for r in reports for line in r.json()["lines"])
    assert counted == {"applied": 4, "duplicate": 4}
    for invoice_id, _ in invoices:
        assert len(await paid_events(licensing, invoice_id)) == 1
