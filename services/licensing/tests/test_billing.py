"""Rules 9 and 10: invoices for what other services ask (at the price in force when asked and
the organization's residency), payments recorded once, and the reconciliation statement."""

import uuid
from datetime import UTC, datetime, timedelta

from services.licensing.tests.conftest import unique_year
from services.licensing.tests.factories import (
    attached_contract,
    events_about,
    key_reported_lost,
    known_organization,
)
from services.licensing.tests.test_organizations import registered
from shared.events.dongle import ProtectionRequested
from shared.events.identity import DataChangeRequested
from shared.testing.bus import publish
from shared.testing.plugin import eventually

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def protection(org, subscription=None, price_code="KEY_PROTECTION"):
    return ProtectionRequested(
        subscription_id=subscription or uuid.uuid4(),
        organization_id=org,
        key_serial="3-1234567",
        price_code=price_code,
    )


async def invoices_of(licensing, org):
    response = await licensing.client.get("/api/v1/invoices", headers=licensing.as_contact(org))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def one_invoice(licensing, org):
    async def found():
        items = await invoices_of(licensing, org)
        return items if items else None

    [invoice] = await eventually(found)
    return invoice


async def pay(
    licensing, invoice_id, amount, number="ПП-1", paid_at="2026-11-03T10:00:00Z", headers=None
):
    return await licensing.client.post(
        f"/api/v1/invoices/{invoice_id}/payments",
        json={"amount": amount, "paid_at": paid_at, "document_number": number},
        headers=headers or licensing.as_admin(),
    )


async def test_protection_requested_is_invoiced_at_the_resident_or_non_resident_price(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    resident = await known_organization(licensing)
    foreign = await known_organization(licensing, inn="KZ123456789012", resident=False)
    subscription = uuid.uuid4()

    await publish(licensing.settings, protection(resident, subscription), NOW)
    await publish(licensing.settings, protection(foreign), NOW)

    invoice = await one_invoice(licensing, resident)
    assert invoice["total"] == "4900.00"
    assert invoice["items"] == [
        {
            "code": "KEY_PROTECTION",
            "name": "Дополнительная защита электронного ключа",
            "quantity": 1,
            "unit_price": "4900.00",
            "amount": "4900.00",
        }
    ]
    assert invoice["reference"] == {
        "service": "dongle",
        "kind": "protection_subscription",
        "id": str(subscription),
    }
    assert invoice["status"] == "issued"
    assert (await one_invoice(licensing, foreign))["total"] == "5900.00"
    [issued] = await events_about(
        licensing, "licensing.invoice.issued", "invoice_id", invoice["id"]
    )
    assert issued["resident"] is True and issued["total"] == "4900.00"
    assert issued["reference"]["id"] == str(subscription)


async def delivered_twice_and_resent(licensing, request, resent_after: timedelta) -> None:
    """The request delivered, redelivered (same event id) and sent again as a new event
    `resent_after` later; returns once everything published before a marker is applied."""
    first = await publish(licensing.settings, request, NOW)
    await publish(licensing.settings, request, NOW, first.id)
    await publish(licensing.settings, request, NOW + resent_after)
    marker = await known_organization(licensing)
    await publish(licensing.settings, protection(marker), NOW)
    await one_invoice(licensing, marker)


async def test_a_request_delivered_twice_or_resent_is_invoiced_once(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org = await known_organization(licensing)
    request = protection(org)

    await delivered_twice_and_resent(licensing, request, timedelta(minutes=1))

    assert len(await invoices_of(licensing, org)) == 1
    assert (
        len(await events_about(licensing, "licensing.invoice.issued", "organization_id", org)) == 1
    )


async def test_a_request_that_overtakes_the_organization_is_invoiced_when_it_arrives(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org = uuid.uuid4()

    await publish(licensing.settings, protection(org), NOW)
    await publish(licensing.settings, registered(org), NOW - timedelta(minutes=5))

    assert (await one_invoice(licensing, org))["total"] == "4900.00"


async def test_the_price_is_the_one_in_force_when_it_was_asked(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    year = unique_year()
    response = await licensing.client.post(
        "/api/v1/price-list/versions",
        json={
            "effective_from": f"{year}-03-01",
            "items": [
                {"code": "KEY_PROTECTION", "resident_price": "5100", "non_resident_price": "6100"}
            ],
        },
        headers=licensing.as_admin(),
    )
    assert response.status_code == 201, response.text
    before, after = await known_organization(licensing), await known_organization(licensing)

    # 23:59 and 00:00 on 1 March in Moscow.
    await publish(licensing.settings, protection(before), datetime(year, 2, 28, 20, 59, tzinfo=UTC))
    await publish(licensing.settings, protection(after), datetime(year, 2, 28, 21, 0, tzinfo=UTC))

    assert (await one_invoice(licensing, before))["total"] != "5100.00"
    assert (await one_invoice(licensing, after))["total"] == "5100.00"


async def test_a_lost_key_with_restoration_covered_is_invoiced_for_the_replacement(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org, uncovered = await known_organization(licensing), await known_organization(licensing)
    report = uuid.uuid4()

    def lost(organization_id, covered):
        return key_reported_lost(
            organization_id,
            report_id=report if covered else uuid.uuid4(),
            restoration_covered=covered,
            replacement_price_codes=["CODEMETER_KEY", "DELIVERY"] if covered else [],
        )

    await publish(licensing.settings, lost(uncovered, False), NOW)
    await publish(licensing.settings, lost(org, True), NOW)

    invoice = await one_invoice(licensing, org)
    assert [item["code"] for item in invoice["items"]] == ["CODEMETER_KEY", "DELIVERY"]
    assert invoice["total"] == "4100.00"
    assert invoice["reference"] == {"service": "dongle", "kind": "loss_report", "id": str(report)}
    assert await invoices_of(licensing, uncovered) == []


async def test_a_payment_recorded_twice_pays_once_and_partial_payments_add_up(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org = await known_organization(licensing)
    await publish(licensing.settings, protection(org), NOW)
    invoice = await one_invoice(licensing, org)

    part = await pay(licensing, invoice["id"], "900.00", "ПП-1")
    assert (part.status_code, part.json()["status"]) == (200, "issued")
    too_much = await pay(licensing, invoice["id"], "4000.01", "ПП-2")
    assert too_much.status_code == 422
    assert too_much.json()["errors"][0]["field"] == "amount"
    rest = await pay(licensing, invoice["id"], "4000.00", "ПП-2")
    again = await pay(licensing, invoice["id"], "4000.00", "ПП-2")
    other_amount = await pay(licensing, invoice["id"], "1.00", "ПП-2")

    assert rest.json()["status"] == again.json()["status"] == "paid"
    assert rest.json()["paid_at"] == "2026-11-03T10:00:00Z"
    assert other_amount.status_code == 409
    paid = await events_about(licensing, "licensing.invoice.paid", "invoice_id", invoice["id"])
    assert len(paid) == 1
    assert paid[0]["amount"] == "4900.00"
    assert paid[0]["reference"]["kind"] == "protection_subscription"
    for headers in (licensing.as_contact(org), licensing.as_accountant(org), licensing.as_agent()):
        assert (
            await pay(licensing, invoice["id"], "1.00", "ПП-9", headers=headers)
        ).status_code == 403
    assert (await pay(licensing, uuid.uuid4(), "1.00")).status_code == 404
    assert (await pay(licensing, invoice["id"], "0", "ПП-0")).status_code == 422


async def test_the_reconciliation_statement_adds_up_across_the_period(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    act = {
        "number": f"А-{uuid.uuid4().hex[:8]}",
        "date": "2026-11-10",
        "issued_by": "vendor",
        "items": [{"code": "SUPPORT_PAID_12M", "name": "ТП", "quantity": 1, "amount": "12000.00"}],
    }
    org, contact, _ = await attached_contract(licensing, acts=[act])
    # October: invoiced 4900, paid 1000 (before the period); November: invoiced 4900, paid 4900.
    for moment in (datetime(2026, 10, 5, 9, tzinfo=UTC), datetime(2026, 11, 5, 9, tzinfo=UTC)):
        await publish(licensing.settings, protection(org), moment)

    async def two():
        items = await invoices_of(licensing, org)
        return items if len(items) == 2 else None

    october, november = sorted(await eventually(two), key=lambda i: i["issued_at"])
    assert (
        await pay(licensing, october["id"], "1000.00", "ПП-10", "2026-10-20T09:00:00Z")
    ).status_code == 200
    assert (
        await pay(licensing, november["id"], "4900.00", "ПП-11", "2026-11-20T09:00:00Z")
    ).status_code == 200
    # After the period: counted in neither.
    assert (
        await pay(licensing, october["id"], "3900.00", "ПП-12", "2026-12-02T09:00:00Z")
    ).status_code == 200

    response = await licensing.client.get(
        "/api/v1/reconciliation",
        params={"from": "2026-11-01", "to": "2026-11-30"},
        headers=licensing.as_accountant(org),
    )

    assert response.status_code == 200, response.text
    statement = response.json()
    assert statement["from"] == "2026-11-01" and statement["to"] == "2026-11-30"
    assert statement["opening_balance"] == "3900.00"
    assert [(line["date"], line["debit"], line["credit"]) for line in statement["lines"]] == [
        ("2026-11-05", "4900.00", "0.00"),
        ("2026-11-10", "12000.00", "0.00"),
        ("2026-11-20", "0.00", "4900.00"),
    ]
    assert statement["lines"][1]["document"] == f"Акт {act['number']}"
    assert statement["closing_balance"] == "15900.00"
    # The contact reads the same; another organization's accountant sees its own (empty) one.
    assert (
        await licensing.client.get(
            "/api/v1/reconciliation",
            params={"from": "2026-11-01", "to": "2026-11-30"},
            headers=contact,
        )
    ).json() == statement
    other = await licensing.client.get(
        "/api/v1/reconciliation",
        params={"from": "2026-11-01", "to": "2026-11-30"},
        headers=licensing.as_accountant(uuid.uuid4()),
    )
    assert other.json()["lines"] == [] and other.json()["closing_balance"] == "0.00"
    bad = await licensing.client.get(
        "/api/v1/reconciliation", params={"from": "2026-11-30", "to": "2026-11-01"}, headers=contact
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "to"


async def test_invoices_are_seen_by_their_organization_and_its_accountant_only(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org = await known_organization(licensing)
    await publish(licensing.settings, protection(org), NOW)
    invoice = await one_invoice(licensing, org)

    accountant = await licensing.client.get(
        "/api/v1/invoices", headers=licensing.as_accountant(org)
    )
    stranger = await licensing.client.get(
        "/api/v1/invoices", headers=licensing.as_contact(uuid.uuid4())
    )
    staff = await licensing.client.get(
        "/api/v1/invoices", headers=licensing.as_admin(), params={"limit": 200}
    )

    assert [i["id"] for i in accountant.json()["items"]] == [invoice["id"]]
    assert stranger.json()["items"] == []
    assert staff.status_code == 200


async def test_a_paid_data_change_is_invoiced_with_identitys_request_as_reference(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org, request = await known_organization(licensing), uuid.uuid4()
    asked = DataChangeRequested(
        change_request_id=request, organization_id=org, requested_by=uuid.uuid4()
    )

    first = await publish(licensing.settings, asked, NOW)
    await publish(licensing.settings, asked, NOW, first.id)

    invoice = await one_invoice(licensing, org)
    assert invoice["reference"] == {
        "service": "identity",
        "kind": "data_change_request",
        "id": str(request),
    }
    assert [(item["code"], item["amount"]) for item in invoice["items"]] == [
        ("DATA_CHANGE", "1500.00")
    ]


async def test_a_loss_report_delivered_twice_is_invoiced_once(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    org = await known_organization(licensing)
    report = key_reported_lost(
        org, key_serial="3-7777777", kind="stolen", replacement_price_codes=["CODEMETER_KEY"]
    )

    await delivered_twice_and_resent(licensing, report, timedelta(minutes=3))

    [invoice] = await invoices_of(licensing, org)
    assert invoice["total"] == "3500.00"


async def test_a_period_ending_at_the_end_of_the_calendar_is_422(licensing):
    response = await licensing.client.get(
        "/api/v1/reconciliation",
        params={"from": "2026-01-01", "to": "9999-12-31"},
        headers=licensing.as_contact(uuid.uuid4()),
    )

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "to"
