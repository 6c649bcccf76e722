"""Helpdesk's read models from licensing's and identity's events: duplicates and late
arrivals."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.helpdesk.models import SupportCertificate
from services.helpdesk.tests.conftest import (
    agent,
    applied,
    contact,
    open_ticket,
    stored_certificate,
    ticket_body,
)
from shared.events.dongle import ProtectionActivated, ProtectionLapsed
from shared.events.identity import FieldChange, OrganizationRegistered, OrganizationUpdated
from shared.events.licensing import SupportExpired, SupportRegistered, SupportRenewed
from shared.testing.bus import publish, publish_envelopes


def certificate_fields(organization_id: uuid.UUID, number: str, certificate_id: uuid.UUID):
    return {
        "certificate_id": certificate_id,
        "number": number,
        "tier": "paid",
        "organization_id": organization_id,
        "products": ["KOMPAS-3D"],
        "key_serials": ["3-1234567"],
    }


async def test_a_duplicate_registration_is_applied_once(helpdesk):
    org, certificate_id = uuid.uuid4(), uuid.uuid4()
    now = helpdesk.clock.now()
    number = f"ТП-{uuid.uuid4().hex[:6]}"
    envelope = await publish(
        helpdesk.settings,
        SupportRegistered(
            **certificate_fields(org, number, certificate_id),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=30),
        ),
        occurred_at=now,
    )
    await applied(helpdesk, envelope)
    await publish_envelopes(helpdesk.settings, envelope)
    # A later event after the duplicate proves the duplicate was consumed (queue order).
    later = await publish(
        helpdesk.settings,
        SupportRenewed(
            **certificate_fields(org, number, certificate_id),
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=395),
            previous_ends_at=now + timedelta(days=30),
        ),
        occurred_at=now + timedelta(minutes=1),
    )
    await applied(helpdesk, later)
    async with helpdesk.app.state.sessionmaker() as session:
        count = await session.scalar(
            select(func.count()).where(SupportCertificate.number == number)
        )
    assert count == 1
    assert (await stored_certificate(helpdesk, number)).ends_at == now + timedelta(days=395)


async def test_an_older_event_arriving_late_changes_nothing(helpdesk):
    org, certificate_id = uuid.uuid4(), uuid.uuid4()
    now = helpdesk.clock.now()
    number = f"ТП-{uuid.uuid4().hex[:6]}"
    fields = certificate_fields(org, number, certificate_id)
    # The expiry (newer) arrives before the registration (older).
    expired = await publish(
        helpdesk.settings,
        SupportExpired(**fields, ended_at=now - timedelta(hours=1)),
        occurred_at=now - timedelta(hours=1),
    )
    await applied(helpdesk, expired)
    registered = await publish(
        helpdesk.settings,
        SupportRegistered(
            **fields, starts_at=now - timedelta(days=60), ends_at=now - timedelta(hours=1)
        ),
        occurred_at=now - timedelta(days=60),
    )
    await applied(helpdesk, registered)
    assert (await stored_certificate(helpdesk, number)).status == "expired"
    refused = await helpdesk.client.post(
        "/api/v1/tickets",
        json=ticket_body(certificate_number=number),
        headers=contact(helpdesk, org),
    )
    assert refused.status_code == 422
    assert "not active" in refused.json()["errors"][0]["message"]

    # A renewal (newest) then brings it back; a stale expiry after it is ignored.
    renewed = await publish(
        helpdesk.settings,
        SupportRenewed(
            **fields,
            starts_at=now,
            ends_at=now + timedelta(days=365),
            previous_ends_at=now - timedelta(hours=1),
        ),
        occurred_at=now,
    )
    await applied(helpdesk, renewed)
    stale = await publish(
        helpdesk.settings,
        SupportExpired(**fields, ended_at=now - timedelta(hours=2)),
        occurred_at=now - timedelta(minutes=30),
    )
    await applied(helpdesk, stale)
    certificate = await stored_certificate(helpdesk, number)
    assert (certificate.status, certificate.ends_at) == ("active", now + timedelta(days=365))
    accepted = await helpdesk.client.post(
        "/api/v1/tickets",
        json=ticket_body(certificate_number=number),
        headers=contact(helpdesk, org),
    )
    assert accepted.status_code == 201, accepted.text


async def test_agents_see_the_organizations_name_as_identity_last_stated_it(helpdesk):
    org = uuid.uuid4()
    now = helpdesk.clock.now()
    ticket = await open_ticket(helpdesk, contact(helpdesk, org))
    staff = agent(helpdesk)

    async def shown_name() -> tuple[str | None, str | None]:
        detail = await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=staff)
        queue = await helpdesk.client.get(
            "/api/v1/tickets", params={"organization_id": str(org)}, headers=staff
        )
        (listed,) = queue.json()["items"]
        return detail.json()["organization_name"], listed["organization_name"]

    assert ticket["organization_name"] is None  # identity has not announced it yet
    requisites = {
        "organization_id": org,
        "full_name": "Muster Gesellschaft mit beschränkter Haftung",
        "country": "DE",
        "resident": False,
        "inn": None,
        "kpp": None,
        "foreign_tax_id": "DE123456789",
    }
    registered = await publish(
        helpdesk.settings,
        OrganizationRegistered(
            **requisites,
            customer_number="100042",
            kind="legal_entity",
            legal_form="GmbH",
            name="Muster GmbH",
        ),
        occurred_at=now,
    )
    await applied(helpdesk, registered)
    assert await shown_name() == ("Muster GmbH", "Muster GmbH")

    def renamed(name: str, old: str) -> OrganizationUpdated:
        return OrganizationUpdated(
            **requisites, name=name, changes={"name": FieldChange(old=old, new=name)}
        )

    updated = await publish(
        helpdesk.settings, renamed("Muster Technik GmbH", "Muster GmbH"), now + timedelta(days=1)
    )
    await applied(helpdesk, updated)
    # A rename older than the one applied, delivered late, changes nothing.
    stale = await publish(
        helpdesk.settings, renamed("Muster Alt GmbH", "Muster GmbH"), now + timedelta(hours=1)
    )
    await applied(helpdesk, stale)
    assert await shown_name() == ("Muster Technik GmbH", "Muster Technik GmbH")
    opened = await open_ticket(helpdesk, contact(helpdesk, org))
    assert opened["organization_name"] == "Muster Technik GmbH"


async def test_agents_see_the_organizations_key_protection_on_its_tickets(helpdesk):
    org = uuid.uuid4()
    now = helpdesk.clock.now()
    customer = contact(helpdesk, org)
    ticket = await open_ticket(helpdesk, customer)
    subscription = {
        "subscription_id": uuid.uuid4(),
        "organization_id": org,
        "key_serial": "3-7654321",
    }
    activated = ProtectionActivated(
        **subscription, status="active", reason="payment_received", invoice_id=None
    )
    lapsed = await publish(
        helpdesk.settings,
        ProtectionLapsed(
            **subscription,
            status="lapsed",
            reason="maintenance_ended",
            maintenance_ended_at=now,
            resumable_until=now + timedelta(days=14),
        ),
        occurred_at=now,
    )
    await applied(helpdesk, lapsed)
    # The activation, older, arrives after the lapse: it changes nothing.
    late = await publish(helpdesk.settings, activated, occurred_at=now - timedelta(days=30))
    await applied(helpdesk, late)
    path = f"/api/v1/tickets/{ticket['id']}"
    shown = (await helpdesk.client.get(path, headers=agent(helpdesk))).json()["protection"]
    assert [(p["key_serial"], p["status"], p["reason"]) for p in shown] == [
        ("3-7654321", "lapsed", "maintenance_ended")
    ]
    assert shown[0]["resumable_until"] is not None
    # Customers and partners read their keys in dongle; the ticket does not show them.
    assert (await helpdesk.client.get(path, headers=customer)).json()["protection"] is None
