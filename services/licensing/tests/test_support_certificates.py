"""Rules 7, 8 and 11: support certificates issued, registered by number (each refusal its own
reason), listed, ended by the sweep once; paid support renewed by an act — from the endpoint
and from helpdesk's request on the real bus — with every refusal and "used once" kept by the
database."""

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

from stdnum.ru import inn as inn_digits

from services.licensing.app import definition
from services.licensing.support.service import support_service
from services.licensing.tests.factories import (
    attached_contract,
    events_about,
    import_contract,
    known_contact,
    known_organization,
    unique_number,
)
from shared.clock import ManualClock
from shared.events.helpdesk import RenewalRequested
from shared.service import Runtime
from shared.testing.bus import publish
from shared.testing.plugin import eventually

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def act_of(number=None, issued_by="vendor", code="SUPPORT_PAID_12M", quantity=1):
    return {
        "number": number or unique_number("А"),
        "date": "2026-10-20",
        "issued_by": issued_by,
        "items": [{"code": code, "name": "Услуга", "quantity": quantity, "amount": "12000.00"}],
    }


async def issue(licensing, headers=None, **body):
    payload = {
        "tier": "paid",
        "products": ["BAZIS_FURNITURE"],
        "key_serials": ["3-1111111"],
        "starts_at": "2026-11-01T00:00:00Z",
        "ends_at": "2027-11-01T00:00:00Z",
        **body,
    }
    return await licensing.client.post(
        "/api/v1/support-certificates", json=payload, headers=headers or licensing.as_admin()
    )


async def register(licensing, contact, number):
    return await licensing.client.post(
        "/api/v1/support-certificates/register", json={"number": number}, headers=contact
    )


async def renew(licensing, contact, act_number):
    return await licensing.client.post(
        "/api/v1/support-certificates/renew", json={"act_number": act_number}, headers=contact
    )


async def test_a_certificate_issued_for_an_organization_is_its_at_once(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "a@romashka.ru")

    response = await issue(licensing, organization_id=str(org), number=unique_number("ТП"))

    assert response.status_code == 201, response.text
    certificate = response.json()
    assert (certificate["tier"], certificate["status"]) == ("paid", "active")
    assert certificate["key_serials"] == ["3-1111111"]
    mine = (await licensing.client.get("/api/v1/support-certificates", headers=contact)).json()
    assert [c["id"] for c in mine["items"]] == [certificate["id"]]
    [event] = await events_about(
        licensing, "licensing.support.registered", "certificate_id", certificate["id"]
    )
    assert event["products"] == ["BAZIS_FURNITURE"] and event["key_serials"] == ["3-1111111"]
    stranger = licensing.as_contact(uuid.uuid4())
    assert (await licensing.client.get("/api/v1/support-certificates", headers=stranger)).json()[
        "items"
    ] == []


def fresh_inn() -> str:
    body = f"77{uuid.uuid4().int % 10**7:07d}"
    return body + inn_digits.calc_company_check_digit(body)


async def test_a_certificate_issued_for_the_inn_of_a_known_organization_is_its_at_once(licensing):
    """An INN one registered organization has names it; only an INN no organization has
    registered yet (or one several subdivisions share) waits for registration by number."""
    inn, shared, unknown = fresh_inn(), fresh_inn(), fresh_inn()
    org = await known_organization(licensing, inn=inn)
    contact = await known_contact(licensing, org, "a@romashka.ru")
    branches = [await known_organization(licensing, inn=shared) for _ in range(2)]
    branch = await known_contact(licensing, branches[0], "b@romashka.ru")

    issued = (await issue(licensing, organization_inn=inn)).json()
    for_branches = (await issue(licensing, organization_inn=shared)).json()
    waiting = (await issue(licensing, organization_inn=unknown)).json()

    mine = (await licensing.client.get("/api/v1/support-certificates", headers=contact)).json()
    assert [c["id"] for c in mine["items"]] == [issued["id"]]
    assert await events_about(
        licensing, "licensing.support.registered", "certificate_id", issued["id"]
    )
    theirs = (await licensing.client.get("/api/v1/support-certificates", headers=branch)).json()
    assert theirs["items"] == []
    for certificate in (for_branches, waiting):
        assert not await events_about(
            licensing, "licensing.support.registered", "certificate_id", certificate["id"]
        )
    # The branch that registers it by number has it.
    assert (await register(licensing, branch, for_branches["number"])).status_code == 200


async def test_registration_by_number_refuses_each_case_with_its_own_reason(licensing):
    org = await known_organization(licensing)
    contact = await known_contact(licensing, org, "a@romashka.ru")
    waiting = (await issue(licensing, organization_inn="7707083893")).json()
    other_inn = (await issue(licensing, organization_inn="7736207543")).json()
    another = await known_organization(licensing)
    theirs = (await issue(licensing, organization_id=str(another))).json()
    ended = (
        await issue(
            licensing,
            organization_inn="7707083893",
            starts_at="2025-01-01T00:00:00Z",
            ends_at="2026-01-01T00:00:00Z",
        )
    ).json()

    registered = await register(licensing, contact, waiting["number"])
    again = await register(licensing, contact, waiting["number"])
    refusals = {
        "unknown": await register(licensing, contact, "ТП-НЕТ"),
        "other INN": await register(licensing, contact, other_inn["number"]),
        "another's": await register(licensing, contact, theirs["number"]),
        "ended": await register(licensing, contact, ended["number"]),
    }

    assert registered.status_code == 200 and again.status_code == 200
    assert [(name, r.status_code, r.json()["reason"]) for name, r in refusals.items()] == [
        ("unknown", 404, "not_found"),
        ("other INN", 404, "not_found"),
        ("another's", 409, "registered_to_another"),
        ("ended", 409, "ended"),
    ]
    assert (
        len(
            await events_about(
                licensing, "licensing.support.registered", "certificate_id", waiting["id"]
            )
        )
        == 1
    )


async def test_issuing_is_for_an_admin_or_a_partner_key_with_licenses_write(licensing):
    org = await known_organization(licensing)
    assert (
        await issue(licensing, licensing.as_contact(org), organization_id=str(org))
    ).status_code == 403
    assert (
        await issue(licensing, licensing.as_api_key(org, ("read",)), organization_id=str(org))
    ).status_code == 403
    assert (
        await issue(
            licensing,
            licensing.as_api_key(uuid.uuid4(), ("licenses:write",)),
            organization_id=str(org),
        )
    ).status_code == 201
    for body, field in (
        ({"organization_id": str(org), "ends_at": "2026-01-01T00:00:00Z"}, "ends_at"),
        ({}, "organization_id"),
        ({"organization_id": str(org), "tier": "gold"}, "tier"),
        ({"organization_inn": "1234567890"}, "organization_inn"),
    ):
        response = await issue(licensing, **body)
        assert response.status_code == 422, body
        assert [e["field"] for e in response.json()["errors"]] == [field]


async def test_the_sweep_ends_certificates_once_with_their_key_serials(licensing):
    org = await known_organization(licensing)
    certificate = (
        await issue(
            licensing,
            organization_id=str(org),
            starts_at="2026-10-01T00:00:00Z",
            ends_at="2026-11-10T00:00:00Z",
        )
    ).json()
    clock = ManualClock(datetime(2026, 11, 10, 0, 0, 1, tzinfo=UTC))
    replicas = [Runtime(definition, licensing.settings, clock) for _ in range(2)]
    try:

        async def sweep(replica):
            async with replica.sessionmaker() as session, session.begin():
                await support_service.sweep_ended(session, clock, replica.outbox)

        await asyncio.gather(*(sweep(replica) for replica in replicas))
        await sweep(replicas[0])
    finally:
        for replica in replicas:
            await replica.close()

    [expired] = await events_about(
        licensing, "licensing.support.expired", "certificate_id", certificate["id"]
    )
    assert expired["key_serials"] == ["3-1111111"]
    assert expired["ended_at"] == "2026-11-10T00:00:00Z"
    contact = await known_contact(licensing, org, "a@b.ru")
    [seen] = (await licensing.client.get("/api/v1/support-certificates", headers=contact)).json()[
        "items"
    ]
    assert seen["status"] == "ended"


async def test_an_act_renews_from_now_without_active_paid_support_and_adds_to_the_end_with_it(
    licensing,
):
    first, second = act_of(), act_of(quantity=2, code="SUPPORT_PAID_12M")
    org, contact, contract = await attached_contract(licensing, acts=[first, second])

    started = await renew(licensing, contact, first["number"])
    assert started.status_code == 200, started.text
    assert started.json()["certificate"]["starts_at"] == "2026-11-02T09:00:00Z"
    assert started.json()["renewed_until"] == "2027-11-02T09:00:00Z"
    assert started.json()["certificate"]["tier"] == "paid"
    assert started.json()["certificate"]["key_serials"] == [contract["licenses"][0]["key_serial"]]

    licensing.clock.advance(days=30)
    extended = await renew(licensing, contact, second["number"])
    assert extended.json()["renewed_until"] == "2029-11-02T09:00:00Z"  # + 24 months at the end
    assert extended.json()["certificate"]["id"] == started.json()["certificate"]["id"]
    [event] = [
        e
        for e in await events_about(licensing, "licensing.support.renewed", "organization_id", org)
        if e["act_number"] == second["number"]
    ]
    assert event["previous_ends_at"] == "2027-11-02T09:00:00Z"
    assert event["ends_at"] == "2029-11-02T09:00:00Z"


async def test_after_paid_support_ended_an_act_starts_it_again_from_now(licensing):
    first, second = act_of(), act_of()
    _org, contact, _ = await attached_contract(licensing, acts=[first, second])
    await renew(licensing, contact, first["number"])
    licensing.clock.set(datetime(2028, 1, 15, 10, 0, tzinfo=UTC))

    again = await renew(licensing, contact, second["number"])

    assert again.json()["certificate"]["starts_at"] == "2028-01-15T10:00:00Z"
    assert again.json()["renewed_until"] == "2029-01-15T10:00:00Z"


async def test_each_refusal_of_an_act_names_its_reason(licensing):
    partners = act_of(issued_by="partner")
    no_support = act_of(code="DELIVERY")
    used = act_of()
    _org, contact, _ = await attached_contract(licensing, acts=[partners, no_support, used])
    foreign = (await import_contract(licensing, acts=[act_of()]))["acts"][0]["number"]
    assert (await renew(licensing, contact, used["number"])).status_code == 200

    for number, reason in (
        ("А-НЕТ-ТАКОГО", "not_found"),
        (foreign, "not_found"),
        (partners["number"], "not_issued_by_vendor"),
        (no_support["number"], "no_support_item"),
        (used["number"], "already_used"),
    ):
        response = await renew(licensing, contact, number)
        assert response.status_code == 422, number
        assert response.json()["reason"] == reason


async def test_two_concurrent_renewals_by_one_act_exactly_one_wins(licensing):
    act = act_of()
    org, contact, _ = await attached_contract(licensing, acts=[act])

    answers = await asyncio.gather(*(renew(licensing, contact, act["number"]) for _ in range(4)))

    assert sorted(a.status_code for a in answers) == [200, 422, 422, 422]
    assert {a.json()["reason"] for a in answers if a.status_code == 422} == {"already_used"}
    renewed = await events_about(licensing, "licensing.support.renewed", "organization_id", org)
    assert len(renewed) == 1
    mine = (await licensing.client.get("/api/v1/support-certificates", headers=contact)).json()
    assert [c["ends_at"] for c in mine["items"]] == ["2027-11-02T09:00:00Z"]


async def test_helpdesk_renewal_requests_are_answered_once_each_on_the_bus(licensing):
    await licensing.app.state.runtime.consumer.ready.wait()
    good, partners = act_of(), act_of(issued_by="partner")
    org, _, _ = await attached_contract(licensing, acts=[good, partners])
    asked_at = NOW + timedelta(hours=1)

    def request(act_number, ticket):
        return RenewalRequested(
            ticket_id=ticket,
            ticket_number="HD-1042",
            organization_id=org,
            act_number=act_number,
            requested_by=uuid.uuid4(),
            requested_at=asked_at,
        )

    renewal_ticket, refused_ticket, late_ticket = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # Out of order: the refusal's request happened later but arrives first.
    await publish(
        licensing.settings, request(partners["number"], refused_ticket), NOW + timedelta(hours=2)
    )
    first = await publish(licensing.settings, request(good["number"], renewal_ticket), asked_at)
    await publish(licensing.settings, request(good["number"], renewal_ticket), asked_at, first.id)
    await publish(
        licensing.settings, request(good["number"], late_ticket), NOW + timedelta(hours=3)
    )

    async def answered():
        rejected = await events_about(
            licensing, "licensing.renewal.rejected", "organization_id", org
        )
        return rejected if len(rejected) == 2 else None

    rejected = await eventually(answered)
    renewed = await events_about(licensing, "licensing.support.renewed", "organization_id", org)
    assert len(renewed) == 1
    assert renewed[0]["reference"] == {
        "service": "helpdesk",
        "kind": "ticket",
        "id": str(renewal_ticket),
    }
    assert renewed[0]["starts_at"] == "2026-11-02T10:00:00Z"  # from when the number was given
    assert {(r["reference"]["id"], r["reason"]) for r in rejected} == {
        (str(refused_ticket), "act_not_issued_by_vendor"),
        (str(late_ticket), "act_already_used"),
    }
