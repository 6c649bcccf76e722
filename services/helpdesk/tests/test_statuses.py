"""Rule 5: who may move a ticket where, auto-close in working hours, reopening, the SLA pause."""

import asyncio
import uuid
from datetime import timedelta

from services.helpdesk.tests.conftest import (
    agent,
    contact,
    msk,
    open_ticket,
    register_certificate,
    status_events,
    stored_ticket,
)
from shared.clock import ManualClock


async def move(helpdesk, ticket_id, status, headers, reason=None):
    body = {"status": status} if reason is None else {"status": status, "reason": reason}
    return await helpdesk.client.post(
        f"/api/v1/tickets/{ticket_id}/status", json=body, headers=headers
    )


async def test_the_moves_each_caller_may_make_and_a_409_naming_the_status(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    ticket = await open_ticket(helpdesk, customer)
    tid = ticket["id"]
    # A customer may not take or answer for the agent; nor skip `in_progress` as an agent.
    refused = await move(helpdesk, tid, "in_progress", customer)
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "new"
    assert "new" in refused.json()["detail"]
    assert (await move(helpdesk, tid, "solution_proposed", staff)).status_code == 409
    assert (await move(helpdesk, tid, "reopened", customer)).status_code == 409

    assert (await move(helpdesk, tid, "in_progress", staff)).json()["status"] == "in_progress"
    proposed = await move(helpdesk, tid, "solution_proposed", staff, "Переустановите драйвер")
    assert proposed.json()["status"] == "solution_proposed"
    assert proposed.json()["messages"][-1]["body"] == "Переустановите драйвер"
    accepted = await move(helpdesk, tid, "closed", customer)
    assert (accepted.json()["status"], accepted.json()["close_reason"]) == ("closed", "accepted")
    # Closed by acceptance: not reopened, a new ticket is the way.
    again = await move(helpdesk, tid, "reopened", customer)
    assert again.status_code == 409 and again.json()["current_status"] == "closed"
    reply = await helpdesk.client.post(
        f"/api/v1/tickets/{tid}/messages", json={"body": "Ещё вопрос"}, headers=customer
    )
    assert reply.status_code == 409

    events = await status_events(helpdesk, tid)
    assert [(e["from"], e["to"]) for e in events] == [
        ("new", "in_progress"),
        ("in_progress", "solution_proposed"),
        ("solution_proposed", "closed"),
    ]
    assert events[-1]["close_reason"] == "accepted"
    assert events[-1]["organization_id"] == str(org)


async def test_a_customer_reply_puts_a_waiting_ticket_back_in_progress(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    ticket = await open_ticket(helpdesk, customer)
    await move(helpdesk, ticket["id"], "in_progress", staff)
    await move(helpdesk, ticket["id"], "waiting_for_customer", staff, "Пришлите журнал")
    stored = await stored_ticket(helpdesk, ticket["id"])
    assert stored.auto_close_at is not None
    await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages",
        json={"body": "Журнал во вложении"},
        headers=customer,
    )
    stored = await stored_ticket(helpdesk, ticket["id"])
    assert (stored.status, stored.auto_close_at) == ("in_progress", None)


async def test_auto_close_after_27_working_hours_and_reopening_within_30_days(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    helpdesk.clock.set(msk(2026, 11, 26, 15, 0))  # Thursday
    ticket = await open_ticket(helpdesk, customer)
    await move(helpdesk, ticket["id"], "in_progress", staff)
    await move(helpdesk, ticket["id"], "solution_proposed", staff, "Обновите драйвер CodeMeter")
    jobs = helpdesk.app.state.runtime.jobs
    # Thursday 4 + Friday 9 + Monday 9 + Tuesday 5 = 27 working hours: Tuesday 15:00.
    helpdesk.clock.set(msk(2026, 12, 1, 14, 59))
    await jobs.run_once("auto_close_tickets")
    assert (await stored_ticket(helpdesk, ticket["id"])).status == "solution_proposed"
    helpdesk.clock.set(msk(2026, 12, 1, 15, 0))
    await jobs.run_once("auto_close_tickets")
    closed = await stored_ticket(helpdesk, ticket["id"])
    assert (closed.status, closed.close_reason) == ("closed", "auto")
    last = (await status_events(helpdesk, ticket["id"]))[-1]
    assert (last["to"], last["close_reason"], last["changed_by"]) == ("closed", "auto", None)

    helpdesk.clock.advance(days=29)
    reopened = await move(helpdesk, ticket["id"], "reopened", customer, "Не помогло")
    assert reopened.status_code == 200, reopened.text
    assert (reopened.json()["status"], reopened.json()["close_reason"]) == ("in_progress", None)


async def test_an_auto_closed_ticket_cannot_be_reopened_after_30_days(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))
    ticket = await open_ticket(helpdesk, customer)
    await move(helpdesk, ticket["id"], "in_progress", staff)
    await move(helpdesk, ticket["id"], "waiting_for_customer", staff, "Какая версия?")
    helpdesk.clock.set(msk(2026, 11, 30, 12, 0))
    await helpdesk.app.state.runtime.jobs.run_once("auto_close_tickets")
    assert (await stored_ticket(helpdesk, ticket["id"])).close_reason == "auto"
    helpdesk.clock.advance(days=30, minutes=1)
    late = await move(helpdesk, ticket["id"], "reopened", customer)
    assert late.status_code == 409
    assert "30 days" in late.json()["detail"]


async def test_the_sla_clock_stops_while_waiting_for_the_customer(helpdesk):
    org = uuid.uuid4()
    customer, staff = contact(helpdesk, org), agent(helpdesk)
    helpdesk.clock.set(msk(2026, 11, 23, 12, 0))  # Monday
    paid = await register_certificate(helpdesk, org, "paid")
    ticket = await open_ticket(helpdesk, customer, certificate_number=paid)
    await move(helpdesk, ticket["id"], "in_progress", staff)
    # Two working hours in, the agent asks for information without a public reply.
    helpdesk.clock.set(msk(2026, 11, 23, 14, 0))
    waiting = await move(helpdesk, ticket["id"], "waiting_for_customer", staff)
    assert waiting.json()["first_response_due_at"] is None
    # The customer answers on Wednesday at 12:00; 14 working hours are left.
    helpdesk.clock.set(msk(2026, 11, 25, 12, 0))
    await helpdesk.client.post(
        f"/api/v1/tickets/{ticket['id']}/messages", json={"body": "Версия 23"}, headers=customer
    )
    stored = await stored_ticket(helpdesk, ticket["id"])
    assert stored.status == "in_progress"
    # Wednesday 7 + Thursday 7 = 14: Thursday 17:00.
    assert stored.first_response_due_at == msk(2026, 11, 26, 17, 0)
    # Meanwhile the breach job did not count the waiting time.
    await helpdesk.app.state.runtime.jobs.run_once("mark_sla_breaches")
    assert not (await stored_ticket(helpdesk, ticket["id"])).breached


async def test_breach_and_auto_close_jobs_are_safe_with_two_replicas(start_helpdesk):
    clock = ManualClock(msk(2026, 11, 23, 12, 0))
    async with start_helpdesk(clock) as one, start_helpdesk(clock) as two:
        org = uuid.uuid4()
        customer, staff = contact(one, org), agent(one)
        partner = await register_certificate(one, org, "partner")
        waiting, late = [], []
        for _ in range(5):
            ticket = await open_ticket(one, customer)
            await move(one, ticket["id"], "in_progress", staff)
            await move(one, ticket["id"], "waiting_for_customer", staff, "Уточните")
            waiting.append(ticket["id"])
            late.append((await open_ticket(one, customer, certificate_number=partner))["id"])
        clock.advance(timedelta(days=10))
        for name in ("auto_close_tickets", "mark_sla_breaches"):
            await asyncio.gather(
                *(replica.app.state.runtime.jobs.run_once(name) for replica in (one, two, one, two))
            )
            # Whichever replica ran it, the other one (and a rerun) finds nothing more to do.
            await two.app.state.runtime.jobs.run_once(name)
        for ticket_id in waiting:
            events = await status_events(one, ticket_id)
            assert [e["to"] for e in events].count("closed") == 1
            assert (await stored_ticket(one, ticket_id)).close_reason == "auto"
        for ticket_id in late:
            assert (await stored_ticket(one, ticket_id)).breached
