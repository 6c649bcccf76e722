"""Rule 1 from licensing's events: keys met in `licensing.license.issued`, the licenses on each
key kept current, and key maintenance from support certificates — each handler given the same
event twice and events out of order, on the real bus."""

import uuid
from datetime import UTC, date, datetime

from services.dongle.events import handlers
from services.dongle.tests.bus import at, handled, license_issued
from services.dongle.tests.test_keys import codemeter_serial, import_key
from shared.bus.topology import catalogue_bindings
from shared.events.licensing import (
    LicenseLapsed,
    LicenseReinstated,
    LicenseRenewed,
    LicenseSuspended,
    SupportExpired,
    SupportRegistered,
    SupportRenewed,
)
from shared.testing.bus import envelope_of


async def key(dongle, serial):
    response = await dongle.client.get(f"/api/v1/keys/{serial}", headers=dongle.as_admin())
    assert response.status_code == 200, response.text
    return response.json()


def renewed(issued, expires_at, previous=date(2027, 11, 19)):
    return LicenseRenewed(
        license_id=issued.license_id,
        organization_id=issued.organization_id,
        product_code=issued.product_code,
        key_serial=issued.key_serial,
        status="active",
        expires_at=expires_at,
        previous_expires_at=previous,
    )


def lapsed(issued, reason="expired"):
    return LicenseLapsed(
        license_id=issued.license_id,
        organization_id=issued.organization_id,
        product_code=issued.product_code,
        key_serial=issued.key_serial,
        reason=reason,
        status=reason,
        expires_at=issued.expires_at,
    )


def changed(issued, event_type, status):
    return event_type(
        license_id=issued.license_id,
        organization_id=issued.organization_id,
        product_code=issued.product_code,
        key_serial=issued.key_serial,
        status=status,
        expires_at=issued.expires_at,
    )


async def test_a_license_issued_on_an_unknown_serial_brings_the_key_once(dongle):
    organization_id, serial = uuid.uuid4(), codemeter_serial()
    issued = envelope_of(license_issued(organization_id, serial), at(0))

    await handled(dongle, issued, issued)

    shown = await key(dongle, serial)
    assert shown["kind"] == "codemeter" and shown["status"] == "active"
    assert shown["organization_id"] == str(organization_id)
    assert shown["licenses"] == [
        {
            "id": str(issued.data["license_id"]),
            "product_code": "CAD-PRO",
            "status": "active",
            "expires_at": "2027-11-19",
        }
    ]
    contact = await dongle.client.get(
        f"/api/v1/keys/{serial}", headers=dongle.as_contact(organization_id)
    )
    assert contact.status_code == 200 and contact.json()["licenses"] == shown["licenses"]


async def test_licenses_follow_every_license_event_and_ignore_older_ones(dongle):
    organization_id = uuid.uuid4()
    serial = codemeter_serial()
    assert (await import_key(dongle, organization_id, serial=serial)).status_code == 201
    issued = license_issued(organization_id, serial)
    other = license_issued(organization_id, serial, product_code="CAD-LITE", expires_at=None)
    await handled(dongle, envelope_of(issued, at(0)), envelope_of(other, at(0)))

    steps = [
        (changed(issued, LicenseSuspended, "suspended"), "suspended", "2027-11-19"),
        (changed(issued, LicenseReinstated, "active"), "active", "2027-11-19"),
        (lapsed(issued), "expired", "2027-11-19"),
        (renewed(issued, date(2028, 11, 19)), "active", "2028-11-19"),
        (lapsed(issued, "revoked"), "revoked", "2027-11-19"),
    ]
    for minute, (event, status, expires_at) in enumerate(steps, start=1):
        envelope = envelope_of(event, at(minute))
        await handled(dongle, envelope, envelope)
        licenses = {lic["product_code"]: lic for lic in (await key(dongle, serial))["licenses"]}
        assert licenses["CAD-PRO"]["status"] == status, event.event_type
        assert licenses["CAD-PRO"]["expires_at"] == expires_at
        assert licenses["CAD-LITE"] == {
            "id": str(other.license_id),
            "product_code": "CAD-LITE",
            "status": "active",
            "expires_at": None,
        }


async def test_a_renewal_arriving_before_the_lapse_it_follows_wins(dongle):
    organization_id, serial = uuid.uuid4(), codemeter_serial()
    issued = license_issued(organization_id, serial)
    await handled(
        dongle,
        envelope_of(issued, at(0)),
        envelope_of(renewed(issued, date(2028, 11, 19)), at(20)),  # sent after the lapse
        envelope_of(lapsed(issued), at(10)),
        envelope_of(license_issued(organization_id, serial, license_id=issued.license_id), at(5)),
    )

    [license_] = (await key(dongle, serial))["licenses"]
    assert (license_["status"], license_["expires_at"]) == ("active", "2028-11-19")


def certificate(serials, ends_at, event_type=SupportRegistered, certificate_id=None, **extra):
    fields = {
        "certificate_id": certificate_id or uuid.uuid4(),
        "number": "SUP-1",
        "tier": "paid",
        "organization_id": uuid.uuid4(),
        "products": ["CAD-PRO"],
        "key_serials": serials,
        **extra,
    }
    if event_type is SupportExpired:
        return SupportExpired(**fields, ended_at=ends_at)
    starts_at = datetime(2026, 1, 1, tzinfo=UTC)
    if event_type is SupportRenewed:
        fields.setdefault("previous_ends_at", datetime(2026, 12, 1, tzinfo=UTC))
    return event_type(**fields, starts_at=starts_at, ends_at=ends_at)


async def test_maintenance_ends_with_the_latest_certificate_covering_the_key(dongle):
    organization_id = uuid.uuid4()
    first, second = codemeter_serial(), codemeter_serial()
    end = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    later = datetime(2027, 12, 1, 0, 0, tzinfo=UTC)
    # A certificate may come before the key it covers is known.
    registered = envelope_of(certificate([first, second], end), at(0))
    await handled(dongle, registered, registered)
    assert (await import_key(dongle, organization_id, serial=first)).status_code == 201
    await handled(dongle, envelope_of(license_issued(organization_id, second), at(1)))
    assert (await key(dongle, first))["maintenance_ends_at"] == "2026-12-01T00:00:00Z"
    assert (await key(dongle, second))["maintenance_ends_at"] == "2026-12-01T00:00:00Z"

    renewal = envelope_of(
        certificate(
            [first],
            later,
            SupportRenewed,
            certificate_id=registered.data["certificate_id"],
        ),
        at(2),
    )
    await handled(dongle, renewal, renewal)

    assert (await key(dongle, first))["maintenance_ends_at"] == "2027-12-01T00:00:00Z"
    # The renewal no longer names `second`: its maintenance ends with nothing covering it.
    assert (await key(dongle, second))["maintenance_ends_at"] is None


async def test_an_expiry_arriving_after_the_renewal_that_followed_it_changes_nothing(dongle):
    organization_id, serial = uuid.uuid4(), codemeter_serial()
    assert (await import_key(dongle, organization_id, serial=serial)).status_code == 201
    certificate_id = uuid.uuid4()
    end = datetime(2026, 12, 1, tzinfo=UTC)
    later = datetime(2027, 12, 1, tzinfo=UTC)

    await handled(
        dongle,
        envelope_of(certificate([serial], end, certificate_id=certificate_id), at(0)),
        envelope_of(
            certificate([serial], later, SupportRenewed, certificate_id=certificate_id), at(20)
        ),
        envelope_of(
            certificate([serial], end, SupportExpired, certificate_id=certificate_id), at(10)
        ),
    )

    assert (await key(dongle, serial))["maintenance_ends_at"] == "2027-12-01T00:00:00Z"


def test_every_event_the_catalogue_routes_to_dongle_has_a_handler():
    """An event routed to dongle's queue without a handler would only ever be dead-lettered:
    the catalogue names dongle as a consumer of exactly the events it handles."""
    assert set(catalogue_bindings()["dongle"]) == set(handlers.event_types)
