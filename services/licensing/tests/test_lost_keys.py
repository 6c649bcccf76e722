"""Licenses on a lost key (dongle's rule 4): suspended when the key's programmed period ends,
by a sweep that suspends each once with two replicas; re-bound to the new key and reinstated
when dongle restores them; each event safe twice and in either order."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from services.licensing.app import definition
from services.licensing.events import handlers, key_reported_lost, licenses_restored
from services.licensing.losses.service import loss_service
from services.licensing.models import LostKey
from services.licensing.tests.factories import (
    attached_contract,
    events_about,
)
from services.licensing.tests.factories import (
    key_reported_lost as lost_key,
)
from services.licensing.tests.test_licenses import act, one_license, validate
from shared.bus.consumer import with_handler_context
from shared.bus.envelope import Envelope
from shared.bus.topology import catalogue_bindings
from shared.events.dongle import LicensesRestored
from shared.service import Runtime
from shared.testing.bus import publish
from shared.testing.plugin import eventually

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
PROGRAMMED_UNTIL = T0 + timedelta(days=20)
NEW_SERIAL = "3-7000001"


def serial() -> str:
    return f"3-{uuid.uuid4().int % 10**7:07d}"


async def key_with_licenses(licensing, lost_serial):
    """An organization's contract: two licenses on the key, one on another key, one on none."""
    licenses = [
        one_license(key_serial=lost_serial)[0],
        one_license(key_serial=lost_serial)[0],
        one_license(key_serial=serial())[0],
        one_license(key_serial=None)[0],
    ]
    org, _contact, contract = await attached_contract(licensing, licenses=licenses)
    return org, contract["licenses"]


async def deliver(licensing, handler, event, occurred_at):
    """Applies an event as the consumer does (its own transaction, the runtime's clock and
    outbox on the session); each call is a new delivery with an id of its own."""
    envelope = Envelope.wrap(event, producer="dongle", occurred_at=occurred_at)
    runtime = licensing.app.state.runtime
    async with licensing.app.state.sessionmaker() as session, session.begin():
        with_handler_context(session, runtime.clock, runtime.outbox, runtime.settings)
        await handler(session, event, envelope)


async def sweep(licensing, at):
    licensing.clock.set(at)
    async with licensing.app.state.sessionmaker() as session, session.begin():
        outbox = licensing.app.state.runtime.outbox
        return await loss_service.sweep_run_out(session, licensing.clock, outbox)


async def events(licensing, event_type, license_):
    return await events_about(licensing, event_type, "license_id", license_["id"])


def restored(report, old_serial, licenses):
    return LicensesRestored(
        old_serial=old_serial,
        new_serial=NEW_SERIAL,
        license_ids=[license_["id"] for license_ in licenses],
        organization_id=report.organization_id,
        report_id=report.report_id,
    )


async def test_licenses_of_a_lost_key_are_suspended_when_its_last_update_file_runs_out(
    licensing,
):
    await licensing.app.state.runtime.consumer.ready.wait()
    lost_serial = serial()
    org, (first, second, elsewhere, unbound) = await key_with_licenses(licensing, lost_serial)
    report = lost_key(org, key_serial=lost_serial, programmed_until=PROGRAMMED_UNTIL)
    await publish(licensing.settings, report, T0)
    await eventually(lambda: _reported(licensing, report.report_id))

    # Until the period already programmed ends, the key and its licenses work.
    assert await sweep(licensing, PROGRAMMED_UNTIL - timedelta(seconds=1)) == 0
    assert (await validate(licensing, first["activation_code"], lost_serial))["code"] == "VALID"

    licensing.clock.set(PROGRAMMED_UNTIL)
    replicas = [Runtime(definition, licensing.settings, licensing.clock) for _ in range(2)]
    try:

        async def replica_sweep(replica):
            async with replica.sessionmaker() as session, session.begin():
                return await loss_service.sweep_run_out(session, licensing.clock, replica.outbox)

        swept = await asyncio.gather(*(replica_sweep(replica) for replica in replicas))
        again = await replica_sweep(replicas[0])
    finally:
        for replica in replicas:
            await replica.close()
    # The same report delivered again changes nothing.
    await deliver(licensing, key_reported_lost, report, T0 + timedelta(minutes=5))
    assert await sweep(licensing, PROGRAMMED_UNTIL + timedelta(days=1)) == 0

    assert sorted(swept) == [0, 1] and again == 0
    for license_ in (first, second):
        suspended = await events(licensing, "licensing.license.suspended", license_)
        assert [(e["status"], e["key_serial"]) for e in suspended] == [("suspended", lost_serial)]
        checked = await validate(licensing, license_["activation_code"], lost_serial)
        assert checked["code"] == "SUSPENDED"
    for license_ in (elsewhere, unbound):
        assert await events(licensing, "licensing.license.suspended", license_) == []
    assert (await validate(licensing, unbound["activation_code"]))["code"] == "VALID"


async def test_a_restoration_after_the_suspension_reinstates_the_licenses_on_the_new_key(
    licensing,
):
    lost_serial = serial()
    org, (first, held, _elsewhere, _unbound) = await key_with_licenses(licensing, lost_serial)
    # An admin's own suspension is not the loss's: restoring the key does not lift it.
    assert (
        await act(licensing, held["id"], "suspend", json={"reason": "unpaid"})
    ).status_code == 200
    report = lost_key(org, key_serial=lost_serial, programmed_until=PROGRAMMED_UNTIL)
    await deliver(licensing, key_reported_lost, report, T0)
    assert await sweep(licensing, PROGRAMMED_UNTIL) == 1

    back = restored(report, lost_serial, [first, held])
    await deliver(licensing, licenses_restored, back, PROGRAMMED_UNTIL + timedelta(days=3))
    await deliver(licensing, licenses_restored, back, PROGRAMMED_UNTIL + timedelta(days=3))

    reinstated = await events(licensing, "licensing.license.reinstated", first)
    assert [(e["status"], e["key_serial"]) for e in reinstated] == [("active", NEW_SERIAL)]
    assert (await validate(licensing, first["activation_code"], NEW_SERIAL))["code"] == "VALID"
    mismatch = await validate(licensing, first["activation_code"], lost_serial)
    assert mismatch["code"] == "KEY_MISMATCH"
    # The admin's suspension stays; the license is announced on its new key, once.
    assert await events(licensing, "licensing.license.reinstated", held) == []
    announced = await events(licensing, "licensing.license.issued", held)
    assert [(e["status"], e["key_serial"]) for e in announced[1:]] == [("suspended", NEW_SERIAL)]
    assert (await validate(licensing, held["activation_code"], NEW_SERIAL))["code"] == "SUSPENDED"
    # The admin lifts it later as any other suspension.
    assert (await act(licensing, held["id"], "reinstate")).status_code == 200
    assert (await validate(licensing, held["activation_code"], NEW_SERIAL))["code"] == "VALID"


async def test_a_restoration_before_the_period_ends_leaves_nothing_to_suspend(licensing):
    lost_serial = serial()
    org, (first, second, _elsewhere, _unbound) = await key_with_licenses(licensing, lost_serial)
    report = lost_key(org, key_serial=lost_serial, programmed_until=PROGRAMMED_UNTIL)
    await deliver(licensing, key_reported_lost, report, T0)
    back = restored(report, lost_serial, [first, second])
    await deliver(licensing, licenses_restored, back, T0 + timedelta(days=5))

    assert await sweep(licensing, PROGRAMMED_UNTIL + timedelta(days=1)) == 0
    for license_ in (first, second):
        assert await events(licensing, "licensing.license.suspended", license_) == []
        announced = await events(licensing, "licensing.license.issued", license_)
        assert [(e["status"], e["key_serial"]) for e in announced] == [
            ("active", lost_serial),
            ("active", NEW_SERIAL),
        ]
        checked = await validate(licensing, license_["activation_code"], NEW_SERIAL)
        assert checked["code"] == "VALID"


async def test_a_restoration_that_overtakes_its_report_is_not_undone_by_it(licensing):
    lost_serial = serial()
    org, (first, second, _elsewhere, _unbound) = await key_with_licenses(licensing, lost_serial)
    report = lost_key(org, key_serial=lost_serial, programmed_until=PROGRAMMED_UNTIL)
    back = restored(report, lost_serial, [first, second])

    await deliver(licensing, licenses_restored, back, T0 + timedelta(days=5))
    await deliver(licensing, key_reported_lost, report, T0)
    assert await sweep(licensing, PROGRAMMED_UNTIL + timedelta(days=1)) == 0

    for license_ in (first, second):
        assert await events(licensing, "licensing.license.suspended", license_) == []
        checked = await validate(licensing, license_["activation_code"], NEW_SERIAL)
        assert checked["code"] == "VALID"


async def test_a_key_never_programmed_stops_its_licenses_at_the_report(licensing):
    lost_serial = serial()
    org, (first, second, _elsewhere, _unbound) = await key_with_licenses(licensing, lost_serial)
    report = lost_key(org, key_serial=lost_serial, programmed_until=None, kind="stolen")
    await deliver(licensing, key_reported_lost, report, T0)

    assert await sweep(licensing, T0) == 1
    for license_ in (first, second):
        checked = await validate(licensing, license_["activation_code"], lost_serial)
        assert checked["code"] == "SUSPENDED"


async def test_another_organizations_licenses_on_the_same_serial_are_not_touched(licensing):
    lost_serial = serial()
    _org, (first, *_rest) = await key_with_licenses(licensing, lost_serial)
    stranger = uuid.uuid4()
    await deliver(licensing, key_reported_lost, lost_key(stranger, key_serial=lost_serial), T0)

    await sweep(licensing, T0)
    assert await events(licensing, "licensing.license.suspended", first) == []


def test_every_event_routed_to_licensing_has_a_handler():
    assert set(handlers.event_types) == set(catalogue_bindings()["licensing"])


async def _reported(licensing, report_id):
    async with licensing.app.state.sessionmaker() as session:
        row = await session.scalar(select(LostKey).where(LostKey.id == report_id))
        return row is not None and row.reported_at is not None
