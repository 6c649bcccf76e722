"""Rule 8: status changes and public agent replies e-mail the author from an outbox with
retries — a mail server down when the ticket changes still gets the mail once back, once."""

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from aiosmtpd.controller import Controller
from sqlalchemy import select

from services.helpdesk.models import Notification
from services.helpdesk.notifications.service import notification_service
from services.helpdesk.tests.conftest import agent, applied, open_ticket
from shared.auth import Principal
from shared.events.dongle import UpdateFileGenerated
from shared.events.identity import UserRegistered
from shared.mail import Mailer
from shared.testing.bus import publish, publish_envelopes
from shared.testing.plugin import eventually, idle_transactions_locking
from shared.testing.servers import free_port
from shared.testing.sinks import MailSink


async def known_person(helpdesk, organization_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    """A contact helpdesk has heard of from identity: their id and address."""
    user_id = uuid.uuid4()
    email = f"client-{user_id.hex[:8]}@example.ru"
    envelope = await publish(
        helpdesk.settings,
        UserRegistered(
            user_id=user_id,
            organization_id=organization_id,
            email=email,
            full_name="Сидоров Иван Петрович",
            roles=["contact"],
        ),
        occurred_at=datetime.now(UTC),
    )
    await applied(helpdesk, envelope)
    return user_id, email


async def a_contacts_ticket(helpdesk) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A known contact and a ticket they opened: their address, their caller headers and the
    ticket."""
    organization_id = uuid.uuid4()
    user_id, email = await known_person(helpdesk, organization_id)
    customer = helpdesk.as_(
        Principal(kind="user", user_id=user_id, organization_id=organization_id, roles=["contact"])
    )
    return email, customer, await open_ticket(helpdesk, customer)


async def notifications(helpdesk, ticket_id: str) -> list[Notification]:
    async with helpdesk.app.state.sessionmaker() as session:
        rows = await session.scalars(
            select(Notification).where(Notification.ticket_id == uuid.UUID(ticket_id))
        )
        return list(rows)


async def test_mail_waits_for_a_stopped_server_and_arrives_once_it_is_back(start_helpdesk):
    sink = MailSink()
    port = free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    # The server is down when the ticket changes.
    async with start_helpdesk(smtp_port=port) as helpdesk:
        email, _, ticket = await a_contacts_ticket(helpdesk)
        staff = agent(helpdesk)
        secret_note = "Внутренняя заметка: клиент проблемный"
        await helpdesk.client.post(
            f"/api/v1/tickets/{ticket['id']}/messages",
            json={"body": secret_note, "internal": True},
            headers=staff,
        )
        reply = await helpdesk.client.post(
            f"/api/v1/tickets/{ticket['id']}/messages",
            json={"body": "Переустановите CodeMeter Runtime."},
            headers=staff,
        )
        assert reply.status_code == 201
        # The reply moved the ticket to in_progress: a status mail comes through the bus.
        await eventually(lambda: _count(helpdesk, ticket["id"], 2))
        jobs = helpdesk.app.state.runtime.jobs

        async def try_to_send() -> None:
            while not await jobs.run_once("send_notifications"):
                pass

        await try_to_send()
        pending = await notifications(helpdesk, ticket["id"])
        assert {n.status for n in pending} == {"pending"}
        assert all(n.attempts >= 1 and n.last_error for n in pending)
        assert sink.messages == []

        server.start()
        try:
            helpdesk.clock.advance(timedelta(hours=2))
            await try_to_send()
            await try_to_send()
            helpdesk.clock.advance(timedelta(hours=2))
            await try_to_send()
            mails = sink.to(email)
            assert len(mails) == 2
            subjects = sorted(mail.subject for mail in mails)
            assert subjects[0].startswith(f"Обращение {ticket['number']}: в работе")
            assert subjects[1].startswith(f"Ответ по обращению {ticket['number']}")
            assert any("Переустановите CodeMeter Runtime." in mail.text for mail in mails)
            assert all(secret_note not in mail.text for mail in mails)
            sent = await notifications(helpdesk, ticket["id"])
            assert {(n.status, n.sent_to) for n in sent} == {("sent", email)}
        finally:
            server.stop()


async def _count(helpdesk, ticket_id: str, expected: int) -> bool:
    return len(await notifications(helpdesk, ticket_id)) >= expected


async def test_every_status_change_mails_the_author_and_a_note_does_not(start_helpdesk, mail_sink):
    sink, port = mail_sink
    async with start_helpdesk(smtp_port=port) as helpdesk:
        email, customer, ticket = await a_contacts_ticket(helpdesk)
        staff = agent(helpdesk)
        for status in ("in_progress", "solution_proposed"):
            await helpdesk.client.post(
                f"/api/v1/tickets/{ticket['id']}/status", json={"status": status}, headers=staff
            )
        await helpdesk.client.post(
            f"/api/v1/tickets/{ticket['id']}/status", json={"status": "closed"}, headers=customer
        )
        await helpdesk.client.post(
            f"/api/v1/tickets/{ticket['id']}/messages",
            json={"body": "только для своих", "internal": True},
            headers=staff,
        )
        await eventually(lambda: _count(helpdesk, ticket["id"], 3))

        async def delivered() -> bool:
            await helpdesk.app.state.runtime.jobs.run_once("send_notifications")
            return len(sink.to(email)) >= 3

        await eventually(delivered)
        mails = sink.to(email)
        assert len(mails) == 3
        assert [m.subject.split(": ", 1)[1] for m in mails] == [
            "в работе",
            "предложено решение",
            "закрыто",
        ]
        assert "вы приняли решение" in mails[-1].text
        assert all("только для своих" not in m.text for m in mails)


async def test_a_new_update_file_mails_the_keys_organization_once(start_helpdesk, mail_sink):
    sink, port = mail_sink
    async with start_helpdesk(smtp_port=port) as helpdesk:
        org = uuid.uuid4()
        addresses = [(await known_person(helpdesk, org))[1] for _ in range(2)]
        _, elsewhere = await known_person(helpdesk, uuid.uuid4())
        serial = f"3-{uuid.uuid4().int % 10**7:07d}"
        generated = await publish(
            helpdesk.settings,
            UpdateFileGenerated(
                update_file_id=uuid.uuid4(),
                key_serial=serial,
                organization_id=org,
                sequence=4,
                valid_until=datetime(2026, 12, 27, 21, 0, tzinfo=UTC),
                trigger="monthly",
                month="2026-11",
            ),
        )
        await applied(helpdesk, generated)
        await publish_envelopes(helpdesk.settings, generated)  # delivered twice: mailed once

        async def delivered() -> bool:
            await helpdesk.app.state.runtime.jobs.run_once("send_notifications")
            return all(sink.to(address) for address in addresses)

        await eventually(delivered)
        # A later event after the duplicate proves the duplicate was consumed (queue order).
        _, later = await known_person(helpdesk, org)
        await helpdesk.app.state.runtime.jobs.run_once("send_notifications")
        for address in addresses:
            (mail,) = sink.to(address)
            assert mail.subject == f"Файл обновления для ключа {serial}"
            assert "№ 4" in mail.text and "28.12.2026 00:00" in mail.text
        assert sink.to(elsewhere) == [] and sink.to(later) == []


class SlowMailServer(MailSink):
    """A mail server that keeps the sender waiting at DATA until the test lets it answer (it
    runs in aiosmtpd's own thread, hence the threading events)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked, self.answer = threading.Event(), threading.Event()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.asked.set()
        await asyncio.get_running_loop().run_in_executor(None, self.answer.wait, 30)
        return await super().handle_DATA(server, session, envelope)


async def test_no_transaction_is_open_while_the_mail_server_keeps_the_sender_waiting(
    start_helpdesk,
):
    """A slow mail server costs the sender its time, never a pooled connection and a row lock:
    the mail is claimed, the claim committed, and only then is the server asked."""
    sink = SlowMailServer()
    server = Controller(sink, hostname="127.0.0.1", port=free_port())
    server.start()
    try:
        async with start_helpdesk(smtp_port=server.port) as helpdesk:
            email, _, ticket = await a_contacts_ticket(helpdesk)
            await helpdesk.client.post(
                f"/api/v1/tickets/{ticket['id']}/messages",
                json={"body": "Проверьте лицензию."},
                headers=agent(helpdesk),
            )
            # The reply's mail, and the status mail of the move to in_progress (from the bus).
            await eventually(lambda: _count(helpdesk, ticket["id"], 2))
            sessionmaker = helpdesk.app.state.sessionmaker
            mailer = Mailer(helpdesk.settings)
            sending = asyncio.create_task(
                notification_service.send_due(sessionmaker, helpdesk.clock, mailer)
            )
            assert await asyncio.to_thread(sink.asked.wait, 10)
            async with sessionmaker() as session, session.begin():
                # No transaction that touched the notifications waits open for the server.
                held = await idle_transactions_locking(session, "notifications")
                # Not locked by the sender: another could take it, but the claim says no.
                claimed = list(
                    await session.scalars(
                        select(Notification)
                        .where(
                            Notification.ticket_id == uuid.UUID(ticket["id"]),
                            Notification.status == "pending",
                        )
                        .with_for_update(nowait=True)
                    )
                )
            assert held == 0
            assert claimed and all(n.next_attempt_at > helpdesk.clock.now() for n in claimed)
            assert await notification_service.send_due(sessionmaker, helpdesk.clock, mailer) == 0
            sink.answer.set()
            # This sender, or the service's own job if it claimed a mail first.
            assert await sending >= 0

            async def sent() -> bool:
                rows = await notifications(helpdesk, ticket["id"])
                return all(n.status == "sent" for n in rows) and len(sink.to(email)) >= 1

            await eventually(sent)
    finally:
        sink.answer.set()
        server.stop()
