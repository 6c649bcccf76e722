"""Rule 2 (connecting the protection service) and rule 8 (its history): CodeMeter keys only,
only with active maintenance, one live subscription per key decided by the database, the
price from licensing's invoice, and `active` only when that invoice is paid."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from services.dongle.models import ProtectionSubscription
from services.dongle.tests.bus import handled
from services.dongle.tests.factories import (
    connect,
    connected_key,
    history,
    invoice_issued,
    invoice_paid,
    maintained_key,
    protected_key,
    protection_invoice,
    published,
    read_key,
    reference,
    support,
)
from services.dongle.tests.test_keys import codemeter_serial, import_key
from shared.testing.bus import envelope_of


async def test_connecting_waits_for_payment_and_asks_licensing_for_the_invoice(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id)

    subscription = await connect(dongle, organization_id, serial)

    assert subscription["status"] == "pending_payment"
    assert subscription["price"] is None and subscription["invoice_id"] is None
    [requested] = await published(dongle, "dongle.protection.requested", serial)
    assert requested["subscription_id"] == subscription["id"]
    assert requested["price_code"] == "KEY_PROTECTION"
    assert requested["organization_id"] == str(organization_id)
    assert (await read_key(dongle, serial))["protection"]["status"] == "pending_payment"


async def test_the_invoice_gives_the_price_and_only_its_payment_activates(dongle):
    organization_id = uuid.uuid4()
    serial, subscription = await connected_key(dongle, organization_id)
    issued = protection_invoice(organization_id, subscription["id"], "5880.00")
    other = invoice_issued(
        organization_id, reference("protection_subscription", uuid.uuid4()), [("X", "1.00")]
    )
    now = dongle.clock.now()
    issued_once = envelope_of(issued, now)

    await handled(dongle, issued_once, issued_once, envelope_of(invoice_paid(other, now), now))

    protection = (await read_key(dongle, serial))["protection"]
    assert protection["status"] == "pending_payment"
    assert (protection["price"], protection["invoice_id"]) == ("5880.00", str(issued.invoice_id))

    paid = envelope_of(invoice_paid(issued, now), now)
    await handled(dongle, paid, paid)

    protection = (await read_key(dongle, serial))["protection"]
    assert protection["status"] == "active"
    assert protection["programmed_until"] == "2026-12-02T09:00:00Z"  # 30 days from activation
    assert len(await published(dongle, "dongle.protection.activated", serial)) == 1
    [generated] = await published(dongle, "dongle.update_file.generated", serial)
    assert (generated["sequence"], generated["trigger"]) == (1, "activation")
    steps = await history(dongle, serial, dongle.as_contact(organization_id))
    assert [(step["from"], step["to"], step["reason"]) for step in steps] == [
        (None, "pending_payment", "requested"),
        ("pending_payment", "active", "payment_received"),
    ]
    assert steps[0]["actor"].startswith("user:") and steps[1]["actor"] == "system"


async def test_a_payment_arriving_before_its_invoice_still_activates(dongle):
    organization_id = uuid.uuid4()
    serial, subscription = await connected_key(dongle, organization_id)
    issued = protection_invoice(organization_id, subscription["id"], "4900.00")
    now = dongle.clock.now()

    await handled(dongle, envelope_of(invoice_paid(issued, now), now), envelope_of(issued, now))

    protection = (await read_key(dongle, serial))["protection"]
    assert (protection["status"], protection["price"]) == ("active", "4900.00")


async def test_only_codemeter_keys_with_active_maintenance_and_no_live_subscription(dongle):
    organization_id = uuid.uuid4()
    contact = dongle.as_contact(organization_id)
    guardant = f"G{uuid.uuid4().hex[:8].upper()}"
    assert (await import_key(dongle, organization_id, guardant, kind="guardant")).status_code == 201
    await handled(dongle, envelope_of(support([guardant], datetime(2028, 1, 1, tzinfo=UTC))))
    bare = codemeter_serial()
    assert (await import_key(dongle, organization_id, bare)).status_code == 201
    ended, _ = await maintained_key(dongle, organization_id, ends_at=dongle.clock.now())
    live, _ = await maintained_key(dongle, organization_id)
    await connect(dongle, organization_id, live)

    for serial, status, rule in (
        (guardant, 422, "codemeter_only"),
        (bare, 422, "maintenance_required"),
        (ended, 422, "maintenance_required"),
        (live, 409, "one_live_subscription"),
    ):
        response = await dongle.client.post(f"/api/v1/keys/{serial}/protection", headers=contact)
        assert response.status_code == status, serial
        assert response.json()["rule"] == rule
        assert response.headers["content-type"] == "application/problem+json"
    assert (await read_key(dongle, guardant))["protection"] is None


async def test_two_connections_at_once_give_one_201_and_one_409(dongle):
    organization_id = uuid.uuid4()
    serials = [(await maintained_key(dongle, organization_id))[0] for _ in range(5)]
    contact = dongle.as_contact(organization_id)

    for serial in serials:
        responses = await asyncio.gather(
            *(
                dongle.client.post(f"/api/v1/keys/{serial}/protection", headers=contact)
                for _ in range(2)
            )
        )
        assert sorted(response.status_code for response in responses) == [201, 409]
        assert len(await published(dongle, "dongle.protection.requested", serial)) == 1


async def test_the_database_refuses_a_second_live_subscription_on_a_key(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id)
    await connect(dongle, organization_id, serial)
    async with dongle.app.state.sessionmaker() as session:
        key_id = (
            (
                await session.execute(
                    ProtectionSubscription.__table__.select().where(
                        ProtectionSubscription.organization_id == organization_id
                    )
                )
            )
            .one()
            .key_id
        )
        for status in ("active", "lapsed", "pending_payment"):
            session.add(
                ProtectionSubscription(
                    key_id=key_id,
                    organization_id=organization_id,
                    status=status,
                    created_at=dongle.clock.now(),
                )
            )
            with pytest.raises(IntegrityError):
                await session.flush()
            await session.rollback()


async def test_connecting_is_for_the_keys_own_contacts(dongle):
    organization_id = uuid.uuid4()
    serial, _ = await maintained_key(dongle, organization_id)
    for headers, status in (
        (dongle.as_contact(uuid.uuid4()), 404),
        (dongle.as_agent(), 403),
        (dongle.as_admin(), 403),
        (dongle.as_api_key(organization_id, scopes=("orders:write",)), 403),
        ({}, 401),
    ):
        response = await dongle.client.post(f"/api/v1/keys/{serial}/protection", headers=headers)
        assert response.status_code == status
    foreign = await dongle.client.get(
        f"/api/v1/keys/{serial}/protection/history", headers=dongle.as_contact(uuid.uuid4())
    )
    assert foreign.status_code == 404
    assert (await read_key(dongle, serial))["protection"] is None


async def test_a_refused_subscription_is_cancelled_and_reconnecting_is_paid_again(dongle):
    organization_id = uuid.uuid4()
    serial, _, first_id = await protected_key(dongle, organization_id)
    contact = dongle.as_contact(organization_id)

    refused = await dongle.client.delete(f"/api/v1/keys/{serial}/protection", headers=contact)
    again = await dongle.client.delete(f"/api/v1/keys/{serial}/protection", headers=contact)
    second = await connect(dongle, organization_id, serial)

    assert refused.status_code == 200 and refused.json()["status"] == "cancelled"
    assert again.status_code == 404
    assert second["id"] != first_id and second["status"] == "pending_payment"
    [cancelled] = await published(dongle, "dongle.protection.cancelled", serial)
    assert cancelled["reason"] == "customer_refused"
    steps = await history(dongle, serial, dongle.as_agent())
    assert [(step["to"], step["reason"]) for step in steps] == [
        ("pending_payment", "requested"),
        ("active", "payment_received"),
        ("cancelled", "customer_refused"),
        ("pending_payment", "requested"),
    ]
    assert steps[2]["actor"].startswith("user:")
    # A payment that arrives for the refused subscription changes nothing.
    assert (await read_key(dongle, serial))["protection"]["id"] == second["id"]


async def test_an_expired_pending_subscription_is_not_activated_twice(dongle):
    organization_id = uuid.uuid4()
    serial, _, subscription_id = await protected_key(dongle, organization_id)
    now = dongle.clock.now() + timedelta(minutes=1)
    issued = protection_invoice(organization_id, subscription_id)
    await handled(dongle, envelope_of(invoice_paid(issued, now), now))
    assert len(await published(dongle, "dongle.protection.activated", serial)) == 1
    assert len(await published(dongle, "dongle.update_file.generated", serial)) == 1
