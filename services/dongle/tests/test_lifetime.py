"""Rule 6 (the service lives with the key's maintenance: lapses when it ends, resumes by
itself on a renewal no later than 14 days after, must be paid again after that) and rule 7 (a
lapsed license that leaves a protected key with no active license cancels the protection)."""

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest

from services.dongle.tests.bus import handled, license_issued
from services.dongle.tests.factories import connect, history, protected_key, published, read_key
from services.dongle.tests.test_licenses_and_maintenance import lapsed, renewed
from shared.clock import business_midnight
from shared.events.licensing import SupportExpired, SupportRenewed
from shared.testing.bus import envelope_of

# Maintenance ends at the start of 1 October 2027, Moscow time.
END = business_midnight(date(2027, 10, 1))


def certificate(serial, certificate_id):
    """The support certificate on the key, as each of its events names it."""
    return {
        "certificate_id": certificate_id,
        "number": "SUP-7",
        "tier": "paid",
        "organization_id": uuid.uuid4(),
        "products": ["CAD-PRO"],
        "key_serials": [serial],
    }


def expired(serial, certificate_id):
    return SupportExpired(**certificate(serial, certificate_id), ended_at=END)


def renewal(serial, certificate_id, ends_at=datetime(2028, 10, 1, tzinfo=UTC)):
    return SupportRenewed(
        **certificate(serial, certificate_id),
        starts_at=END,
        ends_at=ends_at,
        previous_ends_at=END,
    )


async def protected_until_end(dongle):
    """A key protected in September 2027 under a certificate that ends at END:
    (organization, serial, certificate)."""
    organization_id, certificate_id = uuid.uuid4(), uuid.uuid4()
    dongle.clock.set(datetime(2027, 9, 10, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(
        dongle, organization_id, ends_at=END, certificate_id=certificate_id
    )
    return organization_id, serial, certificate_id


async def lapsed_key(dongle):
    """A protected key whose maintenance ended at END: (organization, serial, certificate)."""
    organization_id, serial, certificate_id = await protected_until_end(dongle)
    dongle.clock.set(END + timedelta(minutes=1))
    ended = envelope_of(expired(serial, certificate_id), END)
    await handled(dongle, ended, ended)
    return organization_id, serial, certificate_id


async def test_the_subscription_lapses_when_maintenance_ends(dongle):
    organization_id, serial, _ = await lapsed_key(dongle)

    assert (await read_key(dongle, serial))["protection"]["status"] == "lapsed"
    [event] = await published(dongle, "dongle.protection.lapsed", serial)
    assert event["maintenance_ended_at"] == "2027-09-30T21:00:00Z"
    # Day 14 after the end is 15 October; a renewal from 16 October on is too late.
    assert event["resumable_until"] == "2027-10-15T21:00:00Z"
    steps = await history(dongle, serial, dongle.as_contact(organization_id))
    assert (steps[-1]["from"], steps[-1]["to"], steps[-1]["reason"]) == (
        "active",
        "lapsed",
        "maintenance_ended",
    )


@pytest.mark.parametrize(
    ("renewed_on", "resumes"),
    [
        (datetime(2027, 10, 15, 20, 59, tzinfo=UTC), True),  # day 14, 23:59 in Moscow
        (datetime(2027, 10, 15, 21, 0, tzinfo=UTC), False),  # day 15, 00:00 in Moscow
    ],
)
async def test_a_renewal_by_day_14_resumes_by_itself_on_day_15_it_does_not(
    dongle, renewed_on, resumes
):
    organization_id, serial, certificate_id = await lapsed_key(dongle)
    dongle.clock.set(renewed_on)

    event = envelope_of(renewal(serial, certificate_id), renewed_on)
    await handled(dongle, event, event)

    protection = (await read_key(dongle, serial))["protection"]
    if resumes:
        assert protection["status"] == "active"
        [resumed] = await published(dongle, "dongle.protection.resumed", serial)
        assert resumed["maintenance_ends_at"] == "2028-10-01T00:00:00Z"
        generated = await published(dongle, "dongle.update_file.generated", serial)
        assert [file["trigger"] for file in generated] == ["activation", "resumption"]
    else:
        assert protection["status"] == "cancelled"
        [cancelled] = await published(dongle, "dongle.protection.cancelled", serial)
        assert cancelled["reason"] == "maintenance_not_renewed"
        # Reconnecting is a new, paid subscription.
        assert (await connect(dongle, organization_id, serial))["status"] == "pending_payment"
        assert await published(dongle, "dongle.protection.resumed", serial) == []


async def test_without_renewal_the_sweep_cancels_on_day_15(dongle):
    _, serial, _ = await lapsed_key(dongle)
    jobs = dongle.app.state.runtime.jobs

    dongle.clock.set(datetime(2027, 10, 15, 20, 59, tzinfo=UTC))
    await jobs.run_once("maintenance_sweep")
    assert (await read_key(dongle, serial))["protection"]["status"] == "lapsed"

    dongle.clock.set(datetime(2027, 10, 15, 21, 0, tzinfo=UTC))
    await jobs.run_once("maintenance_sweep")
    await jobs.run_once("maintenance_sweep")
    assert (await read_key(dongle, serial))["protection"]["status"] == "cancelled"
    assert len(await published(dongle, "dongle.protection.cancelled", serial)) == 1


async def test_the_sweep_lapses_a_subscription_whose_expiry_event_has_not_come(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 9, 10, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(dongle, organization_id, ends_at=END)
    jobs = dongle.app.state.runtime.jobs

    dongle.clock.set(END - timedelta(seconds=1))
    await jobs.run_once("maintenance_sweep")
    assert (await read_key(dongle, serial))["protection"]["status"] == "active"
    dongle.clock.set(END)
    await jobs.run_once("maintenance_sweep")
    assert (await read_key(dongle, serial))["protection"]["status"] == "lapsed"


async def test_an_expiry_delivered_after_the_renewal_that_followed_it_does_not_lapse(dongle):
    _, serial, certificate_id = await protected_until_end(dongle)
    dongle.clock.set(END + timedelta(hours=2))

    await handled(
        dongle,
        envelope_of(renewal(serial, certificate_id), END + timedelta(hours=1)),
        envelope_of(expired(serial, certificate_id), END),
    )

    assert (await read_key(dongle, serial))["protection"]["status"] == "active"
    assert await published(dongle, "dongle.protection.lapsed", serial) == []


async def test_a_renewal_before_the_end_extends_the_service_with_no_action(dongle):
    _, serial, certificate_id = await protected_until_end(dongle)
    await handled(dongle, envelope_of(renewal(serial, certificate_id), dongle.clock.now()))

    dongle.clock.set(END + timedelta(days=3))
    await dongle.app.state.runtime.jobs.run_once("maintenance_sweep")

    shown = await read_key(dongle, serial)
    assert shown["protection"]["status"] == "active"
    assert shown["maintenance_ends_at"] == "2028-10-01T00:00:00Z"


async def test_the_last_active_license_lapsing_cancels_the_protection(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 11, 5, 9, 0, tzinfo=UTC))
    serial, license_ids, _ = await protected_key(dongle, organization_id, licenses=2)
    first, second = (license_issued(organization_id, serial, license_id=i) for i in license_ids)
    now = dongle.clock.now()

    one = envelope_of(lapsed(first), now)
    await handled(dongle, one, one)
    assert (await read_key(dongle, serial))["protection"]["status"] == "active"

    last = envelope_of(lapsed(second, "revoked"), now)
    await handled(dongle, last, last)

    assert (await read_key(dongle, serial))["protection"]["status"] == "cancelled"
    [cancelled] = await published(dongle, "dongle.protection.cancelled", serial)
    assert cancelled["reason"] == "license_lapsed"
    steps = await history(dongle, serial, dongle.as_contact(organization_id))
    assert (steps[-1]["to"], steps[-1]["reason"], steps[-1]["actor"]) == (
        "cancelled",
        "license_lapsed",
        "system",
    )


async def test_a_lapse_older_than_the_renewal_already_applied_cancels_nothing(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 11, 6, 9, 0, tzinfo=UTC))
    serial, [license_id], _ = await protected_key(dongle, organization_id)
    issued = license_issued(organization_id, serial, license_id=license_id)
    now = dongle.clock.now()

    await handled(
        dongle,
        envelope_of(renewed(issued, date(2029, 11, 19)), now + timedelta(minutes=2)),
        envelope_of(lapsed(issued), now + timedelta(minutes=1)),
    )

    shown = await read_key(dongle, serial)
    assert shown["protection"]["status"] == "active"
    assert shown["licenses"][0]["status"] == "active"
    assert await published(dongle, "dongle.protection.cancelled", serial) == []
