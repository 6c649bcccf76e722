"""Rule 3: update files on activation and on the 1st of every month (Moscow time, whatever the
weekday or holiday), signed with Ed25519 and verifiable with PyJWT and the published JWKS
alone; one file per key per month, a missed month caught up, a lost key left out."""

import uuid
from datetime import UTC, datetime, timedelta

import jwt
from sqlalchemy import func, select

from services.dongle.jobs import MONTHLY_UPDATE_FILES
from services.dongle.tests.factories import protected_key, published, read_key
from services.dongle.update_files.service import update_file_service
from shared.clock import business_midnight
from shared.db import advisory_key
from shared.events.dongle import UpdateFileGenerated

MOSCOW_MIDNIGHT = timedelta(hours=-3)  # 00:00 in Moscow is 21:00 UTC the day before


async def files(dongle, serial, headers=None):
    response = await dongle.client.get(
        f"/api/v1/keys/{serial}/updates", headers=headers or dongle.as_admin()
    )
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def monthly_job(dongle):
    assert await dongle.app.state.runtime.jobs.run_once(MONTHLY_UPDATE_FILES)


async def test_an_update_file_verifies_with_pyjwt_and_the_jwks_alone(dongle):
    organization_id = uuid.uuid4()
    serial, license_ids, _ = await protected_key(dongle, organization_id, licenses=2)
    contact = dongle.as_contact(organization_id)

    download = await dongle.client.get(f"/api/v1/keys/{serial}/updates/1", headers=contact)
    jwks = await dongle.client.get("/api/v1/keys/update-files/jwks.json")

    assert download.status_code == 200, download.text
    assert download.headers["content-type"] == "application/jose"
    assert jwks.status_code == 200  # no caller at all
    token = download.text
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    public = jwt.PyJWKSet.from_dict(jwks.json())[header["kid"]]
    payload = jwt.decode(token, public.key, algorithms=["EdDSA"])
    assert payload["serial"] == serial and payload["sequence"] == 1
    assert payload["valid_until"] == "2026-12-02T09:00:00Z"
    assert payload["issued_at"] == "2026-11-02T09:00:00Z"
    assert sorted(license["id"] for license in payload["licenses"]) == sorted(
        str(license_id) for license_id in license_ids
    )
    assert set(payload["licenses"][0]) == {"id", "product_code", "expires_at"}
    # A tampered file does not verify.
    head, body, signature = token.split(".")
    forged = f"{head}.{body[:-4]}AAAA.{signature}"
    try:
        jwt.decode(forged, public.key, algorithms=["EdDSA"])
    except jwt.InvalidTokenError:
        pass
    else:
        raise AssertionError("a changed payload verified")
    assert [item["sequence"] for item in await files(dongle, serial, contact)] == [1]
    other = await dongle.client.get(
        f"/api/v1/keys/{serial}/updates/1", headers=dongle.as_contact(uuid.uuid4())
    )
    missing = await dongle.client.get(f"/api/v1/keys/{serial}/updates/9", headers=contact)
    huge = await dongle.client.get(f"/api/v1/keys/{serial}/updates/{2**40}", headers=contact)
    assert (other.status_code, missing.status_code, huge.status_code) == (404, 404, 422)


async def test_the_1st_on_a_sunday_and_on_a_public_holiday_each_bring_one_file(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2026, 10, 20, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(dongle, organization_id)

    # 2026-11-01 is a Sunday; 2027-01-01 is New Year's Day, a public holiday.
    for day in (datetime(2026, 11, 1), datetime(2026, 12, 1), datetime(2027, 1, 1)):
        dongle.clock.set(business_midnight(day.date()) + timedelta(minutes=5))
        await monthly_job(dongle)
        await monthly_job(dongle)  # however often it runs, one file a month

    listed = await files(dongle, serial)
    assert [(item["sequence"], item["month"], item["trigger"]) for item in listed] == [
        (1, "2026-10", "activation"),
        (2, "2026-11", "monthly"),
        (3, "2026-12", "monthly"),
        (4, "2027-01", "monthly"),
    ]
    # The 1st of January in Moscow starts at 21:00 UTC on the 31st of December.
    assert listed[3]["generated_at"] == "2026-12-31T21:05:00Z"
    assert listed[3]["valid_until"] == "2027-01-30T21:05:00Z"
    assert (await read_key(dongle, serial))["protection"]["programmed_until"] == (
        "2027-01-30T21:05:00Z"
    )
    events = await published(dongle, "dongle.update_file.generated", serial)
    # Written by the batch fast path: each still matches the event's contract.
    for event in events:
        UpdateFileGenerated.model_validate(event)
    assert [(event["sequence"], event["month"]) for event in events] == [
        (1, None),
        (2, "2026-11"),
        (3, "2026-12"),
        (4, "2027-01"),
    ]


async def test_the_last_evening_of_a_month_in_utc_is_already_the_next_month_in_moscow(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 2, 10, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(dongle, organization_id)

    dongle.clock.set(datetime(2027, 2, 28, 20, 59, tzinfo=UTC))  # 23:59 in Moscow
    await monthly_job(dongle)
    dongle.clock.set(datetime(2027, 2, 28, 21, 0, tzinfo=UTC))  # 1 March 00:00 in Moscow
    await monthly_job(dongle)

    assert [item["month"] for item in await files(dongle, serial)] == ["2027-02", "2027-03"]


async def test_a_month_missed_while_down_is_caught_up_when_the_service_is_back(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 3, 15, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(dongle, organization_id)

    # Down from the end of March until the 3rd of April.
    dongle.clock.set(datetime(2027, 4, 3, 7, 30, tzinfo=UTC))
    await monthly_job(dongle)
    await monthly_job(dongle)

    listed = await files(dongle, serial)
    assert [(item["sequence"], item["month"]) for item in listed] == [
        (1, "2027-03"),
        (2, "2027-04"),
    ]
    assert listed[1]["valid_until"] == "2027-05-03T07:30:00Z"


async def test_the_admin_runs_a_month_once_and_a_month_not_begun_is_422(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 5, 20, 9, 0, tzinfo=UTC))
    serials = [(await protected_key(dongle, organization_id))[0] for _ in range(3)]
    dongle.clock.set(datetime(2027, 6, 1, 6, 0, tzinfo=UTC))
    admin = dongle.as_admin()

    first = await dongle.client.post(
        "/api/v1/admin/prolongation-runs", json={"month": "2027-06"}, headers=admin
    )
    again = await dongle.client.post(
        "/api/v1/admin/prolongation-runs", json={"month": "2027-06"}, headers=admin
    )
    future = await dongle.client.post(
        "/api/v1/admin/prolongation-runs", json={"month": "2027-07"}, headers=admin
    )
    malformed = [
        await dongle.client.post(
            "/api/v1/admin/prolongation-runs", json={"month": month}, headers=admin
        )
        for month in ("2027-6", "0000-01", "2027-13")
    ]
    contact = await dongle.client.post(
        "/api/v1/admin/prolongation-runs",
        json={"month": "2027-06"},
        headers=dongle.as_contact(organization_id),
    )

    assert first.status_code == 200, first.text
    # Other tests' protected keys share the database: at least ours were generated.
    assert first.json()["month"] == "2027-06" and first.json()["generated"] >= 3
    assert again.json()["generated"] == 0
    assert again.json()["already_done"] == first.json()["generated"] + first.json()["already_done"]
    for serial in serials:
        assert [item["month"] for item in await files(dongle, serial)] == ["2027-05", "2027-06"]
    assert (future.status_code, contact.status_code) == (422, 403)
    for response in (future, *malformed):
        assert response.status_code == 422
        assert [error["field"] for error in response.json()["errors"]] == ["month"]


async def test_a_key_reported_lost_gets_no_more_files(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 7, 20, 9, 0, tzinfo=UTC))
    lost, _, _ = await protected_key(dongle, organization_id)
    kept, _, _ = await protected_key(dongle, organization_id)
    reported = await dongle.client.post(
        f"/api/v1/keys/{lost}/loss-report",
        json={"kind": "stolen"},
        headers=dongle.as_contact(organization_id),
    )
    assert reported.status_code == 200, reported.text

    dongle.clock.set(datetime(2027, 8, 1, 0, 0, tzinfo=UTC))  # a Sunday, 03:00 in Moscow
    await monthly_job(dongle)

    assert [item["month"] for item in await files(dongle, lost)] == ["2027-07"]
    assert [item["month"] for item in await files(dongle, kept)] == ["2027-07", "2027-08"]


async def test_the_monthly_run_waits_while_another_replica_holds_it(dongle):
    organization_id = uuid.uuid4()
    dongle.clock.set(datetime(2027, 9, 20, 9, 0, tzinfo=UTC))
    serial, _, _ = await protected_key(dongle, organization_id)
    dongle.clock.set(datetime(2027, 10, 1, 9, 0, tzinfo=UTC))
    runtime = dongle.app.state.runtime

    async with runtime.sessionmaker() as other_replica, other_replica.begin():
        lock = advisory_key(f"job:dongle:{MONTHLY_UPDATE_FILES}")
        assert await other_replica.scalar(select(func.pg_try_advisory_xact_lock(lock)))
        assert await runtime.jobs.run_once(MONTHLY_UPDATE_FILES) is False
        assert [item["month"] for item in await files(dongle, serial)] == ["2027-09"]

    await monthly_job(dongle)
    assert [item["month"] for item in await files(dongle, serial)] == ["2027-09", "2027-10"]


async def test_a_run_in_small_batches_reaches_every_due_key_once_past_batches_with_none_due(dongle):
    """Batches of two keys by id: whole batches of keys that have the month's file already (or
    that are lost) do not end the run; every other protected key gets exactly one file."""
    organization_id = uuid.uuid4()
    # Keys are walked by id, and ids grow as keys are made: the keys activated in December
    # (whose activation file is December's) are made first, so whole batches have none due.
    dongle.clock.set(datetime(2027, 12, 2, 9, 0, tzinfo=UTC))
    current = [(await protected_key(dongle, organization_id))[0] for _ in range(5)]
    dongle.clock.set(datetime(2027, 11, 20, 9, 0, tzinfo=UTC))
    earlier = [(await protected_key(dongle, organization_id))[0] for _ in range(4)]
    dongle.clock.set(datetime(2027, 12, 2, 9, 0, tzinfo=UTC))
    lost = earlier.pop(0)
    reported = await dongle.client.post(
        f"/api/v1/keys/{lost}/loss-report",
        json={"kind": "lost"},
        headers=dongle.as_contact(organization_id),
    )
    assert reported.status_code == 200, reported.text
    runtime = dongle.app.state.runtime

    for _ in range(2):
        async with runtime.sessionmaker() as session, session.begin():
            await update_file_service.run_month(
                session, runtime.clock, runtime.outbox, "2027-12", batch_size=2
            )

    for serial in earlier:
        assert [item["month"] for item in await files(dongle, serial)] == ["2027-11", "2027-12"]
    for serial in current:
        assert [item["month"] for item in await files(dongle, serial)] == ["2027-12"]
    assert [item["month"] for item in await files(dongle, lost)] == ["2027-11"]
