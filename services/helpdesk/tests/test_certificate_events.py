"""Helpdesk's certificate read model from licensing's events: duplicates and late arrivals."""

import uuid
from datetime import timedelta

from sqlalchemy import func, select

from services.helpdesk.models import SupportCertificate
from services.helpdesk.tests.conftest import applied, contact, stored_certificate, ticket_body
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
