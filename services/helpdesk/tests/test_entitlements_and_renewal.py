"""Rule 6 (remote sessions only for paid and partner tiers) and rule 7 (renewal by ticket)."""

import uuid
from datetime import timedelta

from sqlalchemy import select

from services.helpdesk.models import bus
from services.helpdesk.tests.conftest import (
    agent,
    applied,
    contact,
    msk,
    open_ticket,
    register_certificate,
    status_events,
    stored_ticket,
    system_messages,
    ticket_body,
)
from shared.clock import ManualClock
from shared.events.common import Reference
from shared.events.licensing import RenewalRejected, SupportRenewed
from shared.testing.bus import publish, publish_envelopes


def about_ticket(ticket_id: str | uuid.UUID) -> Reference:
    """The reference licensing's answers carry back to the ticket that asked."""
    return Reference(service="helpdesk", kind="ticket", id=uuid.UUID(str(ticket_id)))


async def renewal_rejected(
    helpdesk,
    ticket_id: str | uuid.UUID,
    organization_id: uuid.UUID,
    *,
    act_number: str = "АКТ-2026-0042",
    reason: str = "act_not_found",
    message: str = "Акт не найден",
):
    """licensing's refusal of the renewal a ticket asked for, published as its relay would."""
    return await publish(
        helpdesk.settings,
        RenewalRejected(
            reference=about_ticket(ticket_id),
            organization_id=organization_id,
            act_number=act_number,
            reason=reason,
            message=message,
        ),
    )


async def test_remote_sessions_only_for_paid_and_partner_tiers(helpdesk):
    org = uuid.uuid4()
    customer = contact(helpdesk, org)
    free = await register_certificate(helpdesk, org, "free")
    for fields, tier in (({"certificate_number": free}, "free"), ({}, "none")):
        refused = await helpdesk.client.post(
            "/api/v1/tickets",
            json=ticket_body(category="remote_session", **fields),
            headers=customer,
        )
        assert refused.status_code == 422
        [error] = refused.json()["errors"]
        assert error["field"] == "category"
        assert f"tier '{tier}'" in error["message"]
        assert "does not include remote sessions" in error["message"]
    paid = await register_certificate(helpdesk, org, "paid")
    ticket = await open_ticket(
        helpdesk, customer, category="remote_session", certificate_number=paid
    )
    assert ticket["remote_session"] == {"decision": None, "reason": None, "decided_at": None}
    staff_id = uuid.uuid4()
    no_reason = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/remote-session",
        json={"decision": "declined"},
        headers=agent(helpdesk, staff_id),
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["errors"][0]["field"] == "reason"
    by_customer = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/remote-session",
        json={"decision": "approved"},
        headers=customer,
    )
    assert by_customer.status_code == 403
    decided = await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/remote-session",
        json={"decision": "approved", "reason": "Сеанс в четверг в 11:00"},
        headers=agent(helpdesk, staff_id),
    )
    assert decided.status_code == 200
    assert decided.json()["remote_session"]["decision"] == "approved"
    stored = await stored_ticket(helpdesk, ticket["id"])
    assert (stored.remote_session_decided_by, stored.remote_session_reason) == (
        staff_id,
        "Сеанс в четверг в 11:00",
    )


async def renewal_ticket(helpdesk, org):
    ticket = await open_ticket(
        helpdesk,
        contact(helpdesk, org),
        category="support_renewal",
        act_number="АКТ-2026-0042",
        subject="Продлить техподдержку",
    )
    async with helpdesk.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(bus.outbox.c.envelope).where(
                bus.outbox.c.event_type == "helpdesk.renewal.requested"
            )
        )
        requests = [row["data"] for row in rows if row["data"]["ticket_id"] == ticket["id"]]
    assert len(requests) == 1
    assert requests[0]["act_number"] == "АКТ-2026-0042"
    assert requests[0]["organization_id"] == str(org)
    return ticket


async def test_a_renewal_ticket_needs_an_act_number(helpdesk):
    response = await helpdesk.client.post(
        "/api/v1/tickets",
        json=ticket_body(category="support_renewal"),
        headers=contact(helpdesk, uuid.uuid4()),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "act_number"


async def test_licensing_renews_and_the_answer_is_posted_once(helpdesk):
    org = uuid.uuid4()
    ticket = await renewal_ticket(helpdesk, org)
    now = helpdesk.clock.now()
    envelope = await publish(
        helpdesk.settings,
        SupportRenewed(
            certificate_id=uuid.uuid4(),
            number="ТП-2026-77",
            tier="paid",
            organization_id=org,
            products=["KOMPAS-3D"],
            key_serials=[],
            starts_at=now,
            ends_at=now + timedelta(days=365),
            previous_ends_at=None,
            act_number="АКТ-2026-0042",
            reference=about_ticket(ticket["id"]),
        ),
        occurred_at=now,
    )
    await applied(helpdesk, envelope)
    await publish_envelopes(helpdesk.settings, envelope)
    marker = await renewal_rejected(helpdesk, uuid.uuid4(), org, act_number="АКТ-0")
    await applied(helpdesk, marker)
    messages = await system_messages(helpdesk, ticket["id"])
    assert len(messages) == 1
    assert "продлена по акту АКТ-2026-0042 до" in messages[0]
    shown = (
        await helpdesk.client.get(f"/api/v1/tickets/{ticket['id']}", headers=contact(helpdesk, org))
    ).json()
    assert shown["status"] == "solution_proposed"
    assert shown["messages"][-1]["kind"] == "system"
    assert shown["messages"][-1]["author"]["role"] == "system"
    assert [e["to"] for e in await status_events(helpdesk, ticket["id"])] == ["solution_proposed"]


async def test_a_refused_renewal_is_posted_with_its_reason(helpdesk):
    org = uuid.uuid4()
    ticket = await renewal_ticket(helpdesk, org)
    envelope = await renewal_rejected(
        helpdesk,
        ticket["id"],
        org,
        reason="act_already_used",
        message="Этот акт уже использован для продления",
    )
    await applied(helpdesk, envelope)
    [message] = await system_messages(helpdesk, ticket["id"])
    assert "не выполнено: Этот акт уже использован для продления" in message
    assert (await stored_ticket(helpdesk, ticket["id"])).status == "solution_proposed"
    # Another organization's answer naming this ticket changes nothing.
    foreign = await renewal_rejected(helpdesk, ticket["id"], uuid.uuid4(), act_number="АКТ-1")
    await applied(helpdesk, foreign)
    assert len(await system_messages(helpdesk, ticket["id"])) == 1


async def test_the_answer_and_the_auto_close_job_use_the_services_own_settings(
    start_helpdesk, monkeypatch
):
    """Settings a service was started with reach its event handlers and jobs: here two
    working hours to auto-close instead of 27, while the environment holds a value no
    settings could be read from (a handler or job reading it would fail)."""
    clock = ManualClock(msk(2026, 11, 23, 12, 0))  # Monday noon
    async with start_helpdesk(clock, auto_close_working_hours=2) as helpdesk:
        monkeypatch.setenv("KABINET_AUTO_CLOSE_WORKING_HOURS", "0")
        org = uuid.uuid4()
        ticket = await renewal_ticket(helpdesk, org)
        answer = await renewal_rejected(helpdesk, ticket["id"], org)
        await applied(helpdesk, answer)
        proposed = await stored_ticket(helpdesk, ticket["id"])
        assert proposed.status == "solution_proposed"
        assert proposed.auto_close_at == msk(2026, 11, 23, 14, 0)

        jobs = helpdesk.app.state.runtime.jobs
        clock.set(msk(2026, 11, 23, 13, 59))
        await jobs.run_once("auto_close_tickets")
        assert (await stored_ticket(helpdesk, ticket["id"])).status == "solution_proposed"
        clock.set(msk(2026, 11, 23, 14, 0))
        await jobs.run_once("auto_close_tickets")
        closed = await stored_ticket(helpdesk, ticket["id"])
        assert (closed.status, closed.close_reason) == ("closed", "auto")
