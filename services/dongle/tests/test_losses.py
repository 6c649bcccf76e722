"""Rule 4 (a key lost or stolen: no more update files; restoration onto a new key only under an
active protection subscription, invoiced and paid first) and rule 5 (found again: a carrier)."""

import uuid
from datetime import UTC, datetime

from services.dongle.tests.bus import handled
from services.dongle.tests.factories import (
    invoice_issued,
    invoice_paid,
    maintained_key,
    protected_key,
    published,
    read_key,
    reference,
)
from services.dongle.tests.test_keys import codemeter_serial
from shared.testing.bus import envelope_of


async def report(dongle, organization_id, serial, kind="lost", note=None):
    body = {"kind": kind, **({"note": note} if note else {})}
    return await dongle.client.post(
        f"/api/v1/keys/{serial}/loss-report", json=body, headers=dongle.as_contact(organization_id)
    )


async def replacement_invoices(dongle, organization_id, report_id):
    ref = reference("loss_report", uuid.UUID(report_id))
    key = invoice_issued(organization_id, ref, [("CODEMETER_KEY", "3500.00")])
    delivery = invoice_issued(organization_id, ref, [("DELIVERY", "600.00")])
    await handled(dongle, envelope_of(key), envelope_of(delivery))
    return key, delivery


async def test_a_protected_key_reported_lost_is_restored_onto_a_new_key_after_payment(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 12, 10, 9, 0, tzinfo=UTC))
    serial, license_ids, subscription_id = await protected_key(dongle, organization_id, licenses=2)
    admin = dongle.as_admin()

    reported = await report(dongle, organization_id, serial, note="left on a train")
    assert reported.status_code == 200, reported.text
    assert reported.json()["restoration"] == "invoiced"
    assert reported.json()["key"]["status"] == "lost"
    [claim] = await published(dongle, "dongle.key.reported_lost", serial)
    assert claim["restoration_covered"] is True
    assert claim["replacement_price_codes"] == ["CODEMETER_KEY", "DELIVERY"]
    assert sorted(claim["license_ids"]) == sorted(str(i) for i in license_ids)
    assert claim["programmed_until"] == "2028-01-09T09:00:00Z"
    twice = await report(dongle, organization_id, serial)
    assert twice.status_code == 409

    key_invoice, delivery_invoice = await replacement_invoices(
        dongle, organization_id, claim["report_id"]
    )
    shown = await dongle.client.get(
        f"/api/v1/keys/{serial}/loss-report", headers=dongle.as_contact(organization_id)
    )
    assert sorted(shown.json()["invoice_ids"]) == sorted(
        [str(key_invoice.invoice_id), str(delivery_invoice.invoice_id)]
    )
    new_serial = codemeter_serial()
    replace = f"/api/v1/keys/{serial}/replacement"
    now = dongle.clock.now()

    unpaid = await dongle.client.post(replace, json={"new_serial": new_serial}, headers=admin)
    await handled(dongle, envelope_of(invoice_paid(key_invoice, now)))
    half_paid = await dongle.client.post(replace, json={"new_serial": new_serial}, headers=admin)
    await handled(dongle, envelope_of(invoice_paid(delivery_invoice, now)))
    replaced = await dongle.client.post(replace, json={"new_serial": new_serial}, headers=admin)
    again = await dongle.client.post(
        replace, json={"new_serial": codemeter_serial()}, headers=admin
    )

    assert (unpaid.status_code, half_paid.status_code) == (409, 409)
    assert unpaid.json()["rule"] == "replacement_not_paid"
    assert replaced.status_code == 200, replaced.text
    assert again.status_code == 409
    new_key = replaced.json()
    assert new_key["serial"] == new_serial and new_key["status"] == "active"
    assert new_key["organization_id"] == str(organization_id)
    assert sorted(lic["id"] for lic in new_key["licenses"]) == sorted(map(str, license_ids))
    assert new_key["protection"]["id"] == subscription_id
    assert new_key["protection"]["status"] == "active"
    assert (await read_key(dongle, serial))["licenses"] == []
    [restored] = await published(dongle, "dongle.licenses.restored", serial, field="old_serial")
    assert restored["new_serial"] == new_serial
    assert restored["subscription_id"] == subscription_id
    assert sorted(restored["license_ids"]) == sorted(map(str, license_ids))
    [generated] = await published(dongle, "dongle.update_file.generated", new_serial)
    assert (generated["sequence"], generated["trigger"]) == (1, "replacement")
    steps = (
        await dongle.client.get(f"/api/v1/keys/{new_serial}/protection/history", headers=admin)
    ).json()["items"]
    assert (steps[-1]["from"], steps[-1]["to"], steps[-1]["reason"]) == (
        "active",
        "active",
        "key_replaced",
    )


async def test_a_key_without_an_active_subscription_is_recorded_but_not_covered(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id)

    reported = await report(dongle, organization_id, serial, kind="stolen")
    replaced = await dongle.client.post(
        f"/api/v1/keys/{serial}/replacement",
        json={"new_serial": codemeter_serial()},
        headers=dongle.as_admin(),
    )

    assert reported.status_code == 200, reported.text
    assert reported.json()["restoration"] == "not_covered"
    assert reported.json()["invoice_ids"] == []
    assert reported.json()["key"]["status"] == "stolen"
    [claim] = await published(dongle, "dongle.key.reported_lost", serial)
    assert (claim["restoration_covered"], claim["replacement_price_codes"]) == (False, [])
    assert replaced.status_code == 422 and replaced.json()["rule"] == "restoration_not_covered"


async def test_a_lost_key_found_again_is_a_carrier_without_its_old_licenses(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id, licenses=2)
    contact = dongle.as_contact(organization_id)
    not_lost = await dongle.client.post(f"/api/v1/keys/{serial}/found", headers=contact)
    assert (await report(dongle, organization_id, serial)).status_code == 200

    foreign = await dongle.client.post(
        f"/api/v1/keys/{serial}/found", headers=dongle.as_contact(uuid.uuid4())
    )
    found = await dongle.client.post(f"/api/v1/keys/{serial}/found", headers=contact)

    assert not_lost.status_code == 409 and foreign.status_code == 404
    assert found.status_code == 200, found.text
    assert (found.json()["status"], found.json()["licenses"]) == ("carrier", [])


async def test_loss_reports_are_for_the_keys_own_contacts(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id)
    for headers, status in (
        (dongle.as_contact(uuid.uuid4()), 404),
        (dongle.as_agent(), 403),
        ({}, 401),
    ):
        response = await dongle.client.post(
            f"/api/v1/keys/{serial}/loss-report", json={"kind": "lost"}, headers=headers
        )
        assert response.status_code == status
    bad = await report(dongle, organization_id, serial, kind="misplaced")
    assert bad.status_code == 422
    assert [error["field"] for error in bad.json()["errors"]] == ["kind"]
    assert (await read_key(dongle, serial))["status"] == "active"
