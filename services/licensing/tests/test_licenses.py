"""Rules 4–6 and 11: license statuses, expiry as a Moscow calendar date, renewal, suspend /
reinstate / revoke (admin, the partner for its customers), the validation endpoint, product key
registration with free support, and the expiry sweep that lapses each license once."""

import asyncio
import uuid
from datetime import UTC, datetime

from services.licensing.app import definition
from services.licensing.licenses.activation_code import ALPHABET, new_activation_code
from services.licensing.licenses.service import license_service
from services.licensing.tests.factories import (
    attached_contract,
    events_about,
    import_contract,
    known_contact,
    known_organization,
)
from shared.clock import ManualClock
from shared.service import Runtime


def one_license(expires_at="2027-10-19", key_serial="3-7654321", **extra):
    return [
        {
            "product_code": "BAZIS_FURNITURE",
            "edition": "Профессионал",
            "seats": 2,
            "starts_at": "2026-10-20",
            "expires_at": expires_at,
            "key_serial": key_serial,
            **extra,
        }
    ]


async def validate(licensing, code, key_serial=None):
    body = {"activation_code": code}
    if key_serial is not None:
        body["key_serial"] = key_serial
    response = await licensing.client.post("/api/v1/licenses/validate", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def act(licensing, license_id, action, headers=None, json=None):
    return await licensing.client.post(
        f"/api/v1/licenses/{license_id}/{action}",
        json=json if json is not None else ({} if action != "reinstate" else None),
        headers=headers or licensing.as_admin(),
    )


async def test_validation_answers_every_code_without_a_user_token(licensing):
    contract = await import_contract(
        licensing, licenses=one_license() + one_license(key_serial=None)
    )
    keyed, unkeyed = contract["licenses"]
    code = keyed["activation_code"]

    valid = await validate(licensing, code, "3-7654321")
    assert valid == {
        "valid": True,
        "code": "VALID",
        "license": {
            "product_code": "BAZIS_FURNITURE",
            "product_name": "БАЗИС-Мебельщик",
            "edition": "Профессионал",
            "seats": 2,
            "status": "active",
            "expires_at": "2027-10-19",
        },
    }
    assert (await validate(licensing, code.lower().replace("-", ""), "3-7654321"))["valid"]
    assert (await validate(licensing, code, "3-0000000"))["code"] == "KEY_MISMATCH"
    assert (await validate(licensing, code))["code"] == "KEY_MISMATCH"
    assert (await validate(licensing, unkeyed["activation_code"]))["code"] == "VALID"
    assert await validate(licensing, new_activation_code()) == {
        "valid": False,
        "code": "NOT_FOUND",
        "license": None,
    }
    typo = code[:-1] + next(c for c in ALPHABET if c != code[-1])
    assert await validate(licensing, typo) == {"valid": False, "code": "MALFORMED", "license": None}
    assert (await validate(licensing, "short"))["code"] == "MALFORMED"

    assert (await act(licensing, keyed["id"], "suspend")).status_code == 200
    suspended = await validate(licensing, code, "3-7654321")
    assert (suspended["valid"], suspended["code"]) == (False, "SUSPENDED")
    assert suspended["license"]["status"] == "suspended"
    assert (await act(licensing, keyed["id"], "reinstate")).status_code == 200
    assert (await act(licensing, keyed["id"], "revoke")).status_code == 200
    assert (await validate(licensing, code, "3-7654321"))["code"] == "REVOKED"


async def test_a_license_is_valid_through_its_last_day_in_moscow(licensing):
    contract = await import_contract(licensing, licenses=one_license("2026-11-20", key_serial=None))
    code = contract["licenses"][0]["activation_code"]

    licensing.clock.set(datetime(2026, 11, 20, 20, 59, tzinfo=UTC))  # 23:59 on the 20th, Moscow
    assert (await validate(licensing, code))["code"] == "VALID"
    licensing.clock.set(datetime(2026, 11, 20, 21, 0, tzinfo=UTC))  # 00:00 on the 21st, Moscow
    expired = await validate(licensing, code)
    assert (expired["code"], expired["license"]["status"]) == ("EXPIRED", "expired")


async def test_validation_of_a_malformed_code_needs_no_database(licensing):
    # With the database unreachable, a malformed code is still answered; a lookup is not.
    engine = licensing.app.state.runtime.engine
    await engine.dispose()
    original = engine.pool._creator

    def unreachable():
        raise OSError("database unreachable")

    engine.pool._creator = unreachable
    try:
        malformed = await licensing.client.post(
            "/api/v1/licenses/validate", json={"activation_code": "AAAAA-AAAAA-AAAAA-AAAAA"}
        )
        lookup = await licensing.client.post(
            "/api/v1/licenses/validate", json={"activation_code": new_activation_code()}
        )
    finally:
        engine.pool._creator = original
    assert malformed.status_code == 200 and malformed.json()["code"] == "MALFORMED"
    assert lookup.status_code >= 500


async def test_renewal_adds_to_the_old_expiry_while_active_and_runs_from_today_once_expired(
    licensing,
):
    _org, _, contract = await attached_contract(
        licensing, licenses=one_license("2026-12-31") + one_license("2026-10-31")
    )
    active, expired = contract["licenses"]

    renewed = await act(licensing, active["id"], "renew", json={"months": 12})
    restarted = await act(licensing, expired["id"], "renew", json={"months": 12})

    assert renewed.json()["expires_at"] == "2027-12-31"
    # Expired on 31 Oct; renewed on 2 Nov 2026 (Moscow) for 12 months: through 1 Nov 2027.
    assert (restarted.json()["status"], restarted.json()["expires_at"]) == ("active", "2027-11-01")
    [event] = await events_about(licensing, "licensing.license.renewed", "license_id", active["id"])
    assert (event["previous_expires_at"], event["expires_at"]) == ("2026-12-31", "2027-12-31")
    perpetual = (await import_contract(licensing, licenses=one_license(None)))["licenses"][0]
    assert (await act(licensing, perpetual["id"], "renew", json={"months": 1})).status_code == 409
    assert (await act(licensing, active["id"], "renew", json={"months": 0})).status_code == 422


async def test_suspend_reinstate_revoke_publish_once_and_refuse_wrong_states(licensing):
    org, _, contract = await attached_contract(licensing)
    license_id = contract["licenses"][0]["id"]

    assert (await act(licensing, license_id, "reinstate")).status_code == 409
    suspended = await act(licensing, license_id, "suspend", json={"reason": "неоплата"})
    assert suspended.json()["status"] == "suspended"
    assert (await act(licensing, license_id, "suspend")).status_code == 409
    assert (await act(licensing, license_id, "reinstate")).json()["status"] == "active"
    assert (await act(licensing, license_id, "revoke")).json()["status"] == "revoked"
    assert (await act(licensing, license_id, "revoke")).status_code == 409
    assert (await act(licensing, license_id, "renew", json={"months": 1})).status_code == 409

    [suspension] = await events_about(
        licensing, "licensing.license.suspended", "license_id", license_id
    )
    assert suspension["reason"] == "неоплата"
    assert (
        len(await events_about(licensing, "licensing.license.reinstated", "license_id", license_id))
        == 1
    )
    [lapsed] = await events_about(licensing, "licensing.license.lapsed", "license_id", license_id)
    assert (lapsed["reason"], lapsed["organization_id"]) == ("revoked", str(org))


async def test_the_partner_manages_its_customers_licenses_only(licensing):
    partner = uuid.uuid4()
    mine = await licensing.client.post(
        "/api/v1/contracts",
        json={**(await _body(licensing))},
        headers=licensing.as_api_key(partner, ("contracts:write",)),
    )
    other = await import_contract(licensing)
    my_license = mine.json()["licenses"][0]["id"]
    key = licensing.as_api_key(partner, ("licenses:write",))

    assert (await act(licensing, my_license, "suspend", headers=key)).status_code == 200
    assert (
        await act(licensing, other["licenses"][0]["id"], "suspend", headers=key)
    ).status_code == 404
    read_only = licensing.as_api_key(partner, ("read",))
    assert (await act(licensing, my_license, "reinstate", headers=read_only)).status_code == 403
    for headers in (licensing.as_contact(), licensing.as_agent()):
        assert (await act(licensing, my_license, "reinstate", headers=headers)).status_code == 403


async def _body(licensing):
    from services.licensing.tests.factories import contract_body

    return contract_body()


async def test_two_sweeps_at_once_lapse_each_expired_license_exactly_once(licensing):
    org, _, contract = await attached_contract(
        licensing, licenses=[one_license("2026-11-10")[0] for _ in range(5)]
    )
    ids = [license_["id"] for license_ in contract["licenses"]]
    clock = ManualClock(datetime(2026, 11, 11, 0, 0, tzinfo=UTC))  # 03:00 on the 11th, Moscow
    replicas = [Runtime(definition, licensing.settings, clock) for _ in range(2)]
    try:

        async def sweep(replica):
            async with replica.sessionmaker() as session, session.begin():
                return await license_service.sweep_expired(session, clock, replica.outbox)

        swept = await asyncio.gather(*(sweep(replica) for replica in replicas))
        again = await sweep(replicas[0])
    finally:
        for replica in replicas:
            await replica.close()

    assert sum(swept) >= 5 and again == 0
    for license_id in ids:
        lapsed = await events_about(licensing, "licensing.license.lapsed", "license_id", license_id)
        assert [(e["reason"], e["expires_at"]) for e in lapsed] == [("expired", "2026-11-10")]
    contact = await known_contact(licensing, org, "x@y.ru")
    statuses = {
        lic["status"]
        for lic in (await licensing.client.get("/api/v1/licenses", headers=contact)).json()["items"]
    }
    assert statuses == {"expired"}
    # Revoking a lapsed license does not lapse it again.
    assert (await act(licensing, ids[0], "revoke")).status_code == 200
    assert len(await events_about(licensing, "licensing.license.lapsed", "license_id", ids[0])) == 1


async def test_registering_a_product_key_starts_free_support_for_three_months_once(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "boss@romashka.ru")
    contract = await import_contract(licensing)
    license_ = contract["licenses"][0]
    licensing.clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))

    response = await licensing.client.post(
        "/api/v1/licenses/register",
        json={"activation_code": license_["activation_code"].lower()},
        headers=contact,
    )

    assert response.status_code == 200, response.text
    registered = response.json()
    assert registered["license"]["id"] == license_["id"]
    certificate = registered["certificate"]
    assert (certificate["tier"], certificate["status"]) == ("free", "active")
    assert certificate["starts_at"] == "2026-11-30T12:00:00Z"
    assert certificate["ends_at"] == "2027-02-28T12:00:00Z"  # 3 calendar months (no 30 Feb)
    assert certificate["products"] == ["BAZIS_FURNITURE"]
    assert certificate["key_serials"] == [license_["key_serial"]]
    [event] = await events_about(
        licensing, "licensing.support.registered", "certificate_id", certificate["id"]
    )
    assert event["organization_id"] == str(org) and event["key_serials"] == [license_["key_serial"]]
    assert (
        len(await events_about(licensing, "licensing.license.issued", "license_id", license_["id"]))
        == 1
    )
    mine = await licensing.client.get("/api/v1/licenses", headers=contact)
    assert [lic["id"] for lic in mine.json()["items"]] == [license_["id"]]

    twice = await licensing.client.post(
        "/api/v1/licenses/register",
        json={"activation_code": license_["activation_code"]},
        headers=contact,
    )
    other_org = await known_organization(licensing)
    other = await licensing.client.post(
        "/api/v1/licenses/register",
        json={"activation_code": license_["activation_code"]},
        headers=await known_contact(licensing, other_org, "a@b.ru"),
    )
    malformed = await licensing.client.post(
        "/api/v1/licenses/register", json={"activation_code": "nope"}, headers=contact
    )
    unknown = await licensing.client.post(
        "/api/v1/licenses/register",
        json={"activation_code": new_activation_code()},
        headers=contact,
    )
    assert (twice.status_code, other.status_code) == (409, 409)
    assert malformed.status_code == 422
    assert malformed.json()["errors"][0]["field"] == "activation_code"
    assert unknown.status_code == 404
    certificates = await licensing.client.get("/api/v1/support-certificates", headers=contact)
    assert len(certificates.json()["items"]) == 1


async def test_a_license_uploaded_with_its_contract_gets_free_support_once_registered(licensing):
    _org, contact, contract = await attached_contract(licensing)
    code = contract["licenses"][0]["activation_code"]

    first = await licensing.client.post(
        "/api/v1/licenses/register", json={"activation_code": code}, headers=contact
    )
    second = await licensing.client.post(
        "/api/v1/licenses/register", json={"activation_code": code}, headers=contact
    )

    assert first.status_code == 200 and second.status_code == 409
    # Issued when the contract was attached, not a second time.
    issued = await events_about(
        licensing, "licensing.license.issued", "license_id", contract["licenses"][0]["id"]
    )
    assert len(issued) == 1


async def test_customers_see_only_their_own_licenses(licensing):
    _org, contact, contract = await attached_contract(licensing)
    license_id = contract["licenses"][0]["id"]
    stranger = licensing.as_contact(uuid.uuid4())

    assert (
        await licensing.client.get(f"/api/v1/licenses/{license_id}", headers=contact)
    ).status_code == 200
    assert (
        await licensing.client.get(f"/api/v1/licenses/{license_id}", headers=stranger)
    ).status_code == 404
    assert (await licensing.client.get("/api/v1/licenses", headers=stranger)).json()["items"] == []
    assert (
        await licensing.client.get(f"/api/v1/licenses/{license_id}", headers=licensing.as_agent())
    ).status_code == 200
    assert (
        await licensing.client.get(f"/api/v1/licenses/{uuid.uuid4()}", headers=contact)
    ).status_code == 404


async def test_a_renewal_past_the_end_of_the_calendar_is_422_not_a_server_error(licensing):
    contract = await import_contract(licensing, licenses=one_license("9999-06-30"))

    response = await act(licensing, contract["licenses"][0]["id"], "renew", json={"months": 12})

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "months"
