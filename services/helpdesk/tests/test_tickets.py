"""Rules 2–4: opening tickets with a certificate, tiers, first-response deadlines, the queue."""

import uuid
from datetime import UTC, datetime, timedelta

from services.helpdesk.models import partner_customers
from services.helpdesk.tests.conftest import (
    agent,
    contact,
    link_partner,
    msk,
    open_ticket,
    register_certificate,
    stored_ticket,
    ticket_body,
)
from shared.clock import ManualClock


async def stored_links(helpdesk, partner: uuid.UUID) -> list[uuid.UUID]:
    async with helpdesk.app.state.sessionmaker() as session:
        rows = await session.scalars(partner_customers.of(partner))
        return list(rows)


def utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def same_moment(text: str | None, expected: datetime) -> bool:
    assert text is not None
    return datetime.fromisoformat(text.replace("Z", "+00:00")) == expected


async def test_a_certificate_gives_the_tier_priority_and_deadline(helpdesk):
    org = uuid.uuid4()
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))  # Monday noon
    paid = await register_certificate(helpdesk, org, "paid")
    ticket = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=paid)
    assert ticket["number"].startswith("HD-")
    assert ticket["status"] == "new"
    assert (ticket["tier"], ticket["priority"]) == ("paid", "normal")
    assert ticket["breached"] is False
    # 16 working hours: 7 on Monday, 9 on Tuesday.
    assert same_moment(ticket["first_response_due_at"], msk(2026, 11, 24, 19, 0))

    partner = await register_certificate(helpdesk, org, "partner")
    fast = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=partner)
    assert (fast["tier"], fast["priority"]) == ("partner", "high")
    assert same_moment(fast["first_response_due_at"], msk(2026, 11, 24, 11, 0))

    free = await register_certificate(helpdesk, org, "free")
    slow = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=free)
    assert same_moment(slow["first_response_due_at"], msk(2026, 11, 25, 18, 0))


async def test_without_a_certificate_the_general_queue_has_no_deadline(helpdesk):
    ticket = await open_ticket(helpdesk, contact(helpdesk, uuid.uuid4()))
    assert (ticket["tier"], ticket["priority"]) == ("none", "lowest")
    assert ticket["first_response_due_at"] is None


async def test_each_certificate_refusal_is_a_422_naming_why(helpdesk):
    org, other = uuid.uuid4(), uuid.uuid4()
    theirs = await register_certificate(helpdesk, other, "paid")
    ended = await register_certificate(
        helpdesk,
        org,
        "paid",
        starts_at=helpdesk.clock.now() - timedelta(days=400),
        ends_at=helpdesk.clock.now() - timedelta(days=1),
    )
    not_yet = await register_certificate(
        helpdesk, org, "paid", starts_at=helpdesk.clock.now() + timedelta(days=1)
    )
    other_product = await register_certificate(helpdesk, org, "paid", products=("VERTICAL",))
    cases = {
        theirs: "registered to the ticket's organization",
        "ТП-неизвестный": "registered to the ticket's organization",
        ended: "not active",
        not_yet: "not active",
        other_product: "does not cover the product 'KOMPAS-3D'",
    }
    for number, why in cases.items():
        response = await helpdesk.client.post(
            "/api/v1/tickets",
            json=ticket_body(certificate_number=number),
            headers=contact(helpdesk, org),
        )
        assert response.status_code == 422, number
        [error] = response.json()["errors"]
        assert error["field"] == "certificate_number"
        assert why in error["message"]


async def test_deadlines_with_nights_weekends_holidays_and_transfers(start_helpdesk):
    clock = ManualClock()
    async with start_helpdesk(
        clock, first_response_hours={"partner": 1, "paid": 16, "free": 24}
    ) as helpdesk:
        org = uuid.uuid4()
        partner, paid, free = [
            await register_certificate(
                helpdesk,
                org,
                tier,
                starts_at=datetime(2026, 1, 1, tzinfo=UTC),
                ends_at=datetime(2028, 1, 1, tzinfo=UTC),
            )
            for tier in ("partner", "paid", "free")
        ]
        cases = [
            # Friday 18:30 + 1 working hour: half an hour on Friday, half on Monday.
            (msk(2026, 11, 27, 18, 30), partner, msk(2026, 11, 30, 10, 30)),
            # At night: the clock starts at 10:00; 9 hours on Tuesday, 7 on Wednesday.
            (msk(2026, 11, 24, 2, 0), paid, msk(2026, 11, 25, 17, 0)),
            # On a Sunday: Monday 9, Tuesday 9, Wednesday 6.
            (msk(2026, 11, 29, 14, 0), free, msk(2026, 12, 2, 16, 0)),
            # Before the New Year holidays: 2 hours on 30 December, then 11 and 12 January.
            (msk(2026, 12, 30, 17, 0), paid, msk(2027, 1, 12, 15, 0)),
            # Friday 18:00: 1 hour, 8 on the transferred working Saturday 20 February 2027
            # (shortened), 22 and 23 February off, 7 on Wednesday.
            (msk(2027, 2, 19, 18, 0), paid, msk(2027, 2, 24, 17, 0)),
        ]
        for created, number, due in cases:
            clock.set(created)
            ticket = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=number)
            assert same_moment(ticket["first_response_due_at"], due), (created, ticket)


async def test_the_agent_queue_puts_tiers_first_then_the_earliest_deadline(helpdesk):
    org = uuid.uuid4()
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))
    certificates = {
        tier: await register_certificate(helpdesk, org, tier)
        for tier in ("partner", "paid", "free")
    }
    opened = []
    for tier in ("none", "free", "paid", "partner", "free", "paid"):
        helpdesk.clock.advance(minutes=10)
        fields = {} if tier == "none" else {"certificate_number": certificates[tier]}
        opened.append((tier, await open_ticket(helpdesk, contact(helpdesk, org), **fields)))
    response = await helpdesk.client.get(
        "/api/v1/tickets",
        params={"limit": 2, "organization_id": str(org)},
        headers=agent(helpdesk),
    )
    seen = []
    while True:
        assert response.status_code == 200, response.text
        page = response.json()
        seen += page["items"]
        if not page["next_cursor"]:
            break
        response = await helpdesk.client.get(
            "/api/v1/tickets",
            params={"limit": 2, "cursor": page["next_cursor"], "organization_id": str(org)},
            headers=agent(helpdesk),
        )
    assert [t["tier"] for t in seen] == ["partner", "paid", "paid", "free", "free", "none"]
    due = [t["first_response_due_at"] for t in seen[1:3]]
    assert due == sorted(due)
    assert {t["id"] for t in seen} == {t["id"] for _, t in opened}


async def test_customers_see_only_their_organizations_tickets(helpdesk):
    mine, theirs = uuid.uuid4(), uuid.uuid4()
    ticket = await open_ticket(helpdesk, contact(helpdesk, mine))
    other = await open_ticket(helpdesk, contact(helpdesk, theirs))
    colleague = contact(helpdesk, mine)
    assert (
        await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=colleague)
    ).status_code == 200
    for path in (f"/api/v1/tickets/{other['id']}", f"/api/v1/tickets/{uuid.uuid4()}"):
        response = await helpdesk.client.get(path, headers=colleague)
        assert response.status_code == 404
    hidden = await helpdesk.client.post(
        f"/api/v1/tickets/{other['id']}/messages",
        json={"body": "Здравствуйте"},
        headers=colleague,
    )
    assert hidden.status_code == 404
    listed = (await helpdesk.client.get("/api/v1/tickets", headers=colleague)).json()
    assert [t["id"] for t in listed["items"]] == [ticket["id"]]
    accountant = await helpdesk.client.get("/api/v1/tickets", headers=helpdesk.as_accountant(mine))
    assert accountant.status_code == 403


async def test_partners_open_tickets_for_their_customers_with_the_tickets_scope(helpdesk):
    partner_org, customer = uuid.uuid4(), uuid.uuid4()
    await register_certificate(helpdesk, customer, "free")
    partner_cert = await register_certificate(helpdesk, partner_org, "partner")
    await link_partner(helpdesk, partner_org, customer)
    read_only = await helpdesk.client.post(
        "/api/v1/tickets",
        json=ticket_body(organization_id=str(customer)),
        headers=helpdesk.as_api_key(partner_org, scopes=("read",)),
    )
    assert read_only.status_code == 403
    key = helpdesk.as_api_key(partner_org, scopes=("tickets:write",))
    missing = await helpdesk.client.post("/api/v1/tickets", json=ticket_body(), headers=key)
    assert missing.json()["errors"][0]["field"] == "organization_id"
    unknown = await helpdesk.client.post(
        "/api/v1/tickets", json=ticket_body(organization_id=str(uuid.uuid4())), headers=key
    )
    assert unknown.status_code == 422
    ticket = await open_ticket(
        helpdesk, key, organization_id=str(customer), certificate_number=partner_cert
    )
    assert ticket["organization_id"] == str(customer)
    assert (ticket["tier"], ticket["author"]["role"]) == ("partner", "partner")
    seen = await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=key)
    assert seen.status_code == 200
    # The customer sees the ticket opened on its behalf; another partner does not.
    assert (
        await helpdesk.client.get(
            f"/api/v1/tickets/{ticket['id']}", headers=contact(helpdesk, customer)
        )
    ).status_code == 200
    stranger = helpdesk.as_api_key(uuid.uuid4(), scopes=("tickets:write",))
    assert (
        await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=stranger)
    ).status_code == 404


async def test_a_partner_opens_tickets_only_for_organizations_licensing_linked_to_it(helpdesk):
    partner, rival = uuid.uuid4(), uuid.uuid4()
    customer, rivals_customer, bystander = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for organization_id in (customer, rivals_customer, bystander):
        # Every one is known to helpdesk (a certificate, a contact's ticket).
        await register_certificate(helpdesk, organization_id, "free")
        await open_ticket(helpdesk, contact(helpdesk, organization_id))
    await link_partner(helpdesk, rival, rivals_customer)
    await link_partner(helpdesk, partner, customer)
    await link_partner(helpdesk, partner, customer)  # stated again (a replay): one link
    key = helpdesk.as_api_key(partner, scopes=("tickets:write",))

    def asked(organization_id):
        return helpdesk.client.post(
            "/api/v1/tickets", json=ticket_body(organization_id=str(organization_id)), headers=key
        )

    refusals = [await asked(o) for o in (rivals_customer, bystander, uuid.uuid4())]
    opened = await asked(customer)
    own = await asked(partner)  # the partner's own organization, as its contacts would

    # Another partner's customer, an organization with nothing of this partner's, and one
    # that does not exist get one and the same answer: nothing tells them apart.
    assert [r.status_code for r in refusals] == [422, 422, 422]
    assert len({r.text for r in refusals}) == 1
    assert refusals[0].json()["errors"][0]["field"] == "organization_id"
    assert (opened.status_code, own.status_code) == (201, 201)
    # The partner's list: the tickets it opened, not the customer's own contacts' tickets.
    listed = (await helpdesk.client.get("/api/v1/tickets", headers=key)).json()["items"]
    assert sorted(t["id"] for t in listed) == sorted([opened.json()["id"], own.json()["id"]])
    assert await stored_links(helpdesk, partner) == [customer]


async def test_the_first_public_agent_reply_is_recorded_notes_are_not(helpdesk):
    org = uuid.uuid4()
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))
    paid = await register_certificate(helpdesk, org, "paid")
    ticket = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=paid)
    staff = agent(helpdesk)
    helpdesk.clock.advance(minutes=30)
    note = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Проверить версию ключа", "internal": True},
        headers=staff,
    )
    assert note.status_code == 201 and note.json()["kind"] == "note"
    assert (await stored_ticket(helpdesk, ticket["id"])).first_responded_at is None
    helpdesk.clock.advance(minutes=30)
    reply = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Пришлите, пожалуйста, журнал CodeMeter."},
        headers=staff,
    )
    assert reply.status_code == 201
    stored = await stored_ticket(helpdesk, ticket["id"])
    assert stored.first_responded_at == msk(2026, 11, 23, 13, 0)
    assert stored.status == "in_progress" and not stored.breached
    helpdesk.clock.advance(minutes=30)
    await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Ещё вопрос"}, headers=staff
    )
    assert (await stored_ticket(helpdesk, ticket["id"])).first_responded_at == msk(
        2026, 11, 23, 13, 0
    )
    shown = (
        await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=contact(helpdesk, org))
    ).json()
    assert [m["kind"] for m in shown["messages"]] == ["reply", "reply"]
    assert "Проверить версию ключа" not in str(shown)
    assert shown["first_responded_at"] is not None
    for_staff = (await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=staff)).json()
    assert [m["kind"] for m in for_staff["messages"]] == ["note", "reply", "reply"]
    assert for_staff["messages"][0]["author"]["role"] == "agent"
    refused = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "x", "internal": True},
        headers=contact(helpdesk, org),
    )
    assert refused.status_code == 403


async def test_the_breach_job_flags_unanswered_tickets_when_the_deadline_passes(helpdesk):
    org = uuid.uuid4()
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))
    partner = await register_certificate(helpdesk, org, "partner")
    late = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=partner)
    answered = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=partner)
    await helpdesk.client.post(
        f"/api/v1/tickets/{answered['id']}/messages",
        json={"body": "Смотрим."},
        headers=agent(helpdesk),
    )
    jobs = helpdesk.app.state.runtime.jobs
    helpdesk.clock.set(msk(2026, 11, 24, 10, 59))
    assert await jobs.run_once("mark_sla_breaches")
    assert not (await stored_ticket(helpdesk, late["id"])).breached
    helpdesk.clock.set(msk(2026, 11, 24, 11, 0))
    assert await jobs.run_once("mark_sla_breaches")
    assert (await stored_ticket(helpdesk, late["id"])).breached
    assert not (await stored_ticket(helpdesk, answered["id"])).breached
    shown = await helpdesk.client.get(f"/api/v1/tickets/{late['id']}", headers=agent(helpdesk))
    assert shown.json()["breached"] is True


async def test_an_admin_changing_the_calendar_moves_running_deadlines(helpdesk):
    org = uuid.uuid4()
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))
    paid = await register_certificate(helpdesk, org, "paid")
    ticket = await open_ticket(helpdesk, contact(helpdesk, org), certificate_number=paid)
    assert same_moment(ticket["first_response_due_at"], msk(2026, 11, 24, 19, 0))
    changed = await helpdesk.client.put(
        "/api/v1/calendar/days/2026-11-24",
        json={"kind": "holiday", "note": "Санитарный день"},
        headers=helpdesk.as_admin(),
    )
    assert changed.status_code == 200, changed.text
    stored = await stored_ticket(helpdesk, ticket["id"])
    # Tuesday is off now: the 9 hours move to Wednesday.
    assert stored.first_response_due_at == msk(2026, 11, 25, 19, 0)
