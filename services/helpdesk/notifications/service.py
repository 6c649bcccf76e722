"""Rule 8: every status change and every public agent reply e-mails the ticket's author; a
protection key's new update file (`dongle.update_file.generated`) e-mails the people of the
organization that owns the key.

The mail is written into `notifications` in the transaction of what it reports (a status change
arrives as `helpdesk.ticket.status_changed` from the bus; a reply is written with the reply), and
the job `send_notifications` hands it to the mail server, retrying with a growing pause while
the server is down. Internal notes never make a mail. No transaction is open while the mail
server is talked to (it may take its timeout for every mail): the due mails are claimed in one
short transaction, sent, and their outcome written in another.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.helpdesk.certificates.repository import PersonRepository
from services.helpdesk.models import Notification, Ticket, TicketMessage
from services.helpdesk.notifications.repository import NotificationRepository
from shared.clock import Clock, business_zone
from shared.events.dongle import UpdateFileGenerated
from shared.events.helpdesk import TicketStatusChanged
from shared.mail import Mailer, MailNotSent
from shared.retries import Backoff

log = structlog.get_logger(__name__)

BATCH = 10
# How long a sender holds the mails it took: longer than a batch can take when every mail waits
# for the mail server's timeout (10 s by default). Another sender skips them until then, so a
# sender that died mid-batch only delays its mails.
CLAIM = timedelta(minutes=3)
RETRIES = Backoff(first=timedelta(seconds=30), longest=timedelta(hours=1))

STATUS_WORDS = {
    "new": "новое",
    "in_progress": "в работе",
    "waiting_for_customer": "ожидает вашего ответа",
    "solution_proposed": "предложено решение",
    "closed": "закрыто",
}
CLOSE_WORDS = {
    "accepted": "вы приняли решение",
    "auto": "закрыто автоматически: ответа не было 3 рабочих дня; его можно переоткрыть в "
    "течение 30 дней",
    "agent": "закрыто специалистом",
}


class NotificationService:
    async def status_changed(
        self, session: AsyncSession, event: TicketStatusChanged, event_id: uuid.UUID, at: datetime
    ) -> None:
        status = STATUS_WORDS[event.to_status]
        lines = [
            "Здравствуйте!",
            "",
            f"Статус вашего обращения {event.number} изменился: {status}.",
        ]
        if event.close_reason is not None:
            lines.append(f"Обращение {CLOSE_WORDS[event.close_reason]}.")
        if event.to_status in ("waiting_for_customer", "solution_proposed"):
            lines.append("Ответьте в разделе «Обращения» личного кабинета.")
        await NotificationRepository(session).add_once(
            {
                "id": uuid.uuid4(),
                "dedup_key": f"status:{event_id}",
                "ticket_id": event.ticket_id,
                "recipient_id": event.author_id,
                "subject": f"Обращение {event.number}: {status}",
                "body": "\n".join(lines),
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": at,
                "created_at": at,
            }
        )

    async def agent_replied(
        self, session: AsyncSession, ticket: Ticket, message: TicketMessage
    ) -> None:
        if message.kind != "reply":
            return  # a note is for staff only, never mailed
        await NotificationRepository(session).add_once(
            {
                "id": uuid.uuid4(),
                "dedup_key": f"reply:{message.id}",
                "ticket_id": ticket.id,
                "recipient_id": ticket.author_id,
                "subject": f"Ответ по обращению {ticket.number}: {ticket.subject}"[:300],
                "body": "Здравствуйте!\n\nСпециалист поддержки ответил на ваше обращение "
                f"{ticket.number}:\n\n{message.body}\n\nОтветить можно в разделе «Обращения» "
                "личного кабинета.",
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": message.created_at,
                "created_at": message.created_at,
            }
        )

    async def update_file_ready(
        self, session: AsyncSession, event: UpdateFileGenerated, event_id: uuid.UUID, at: datetime
    ) -> None:
        """Every person of the key's organization helpdesk knows gets one mail per file."""
        valid_until = event.valid_until.astimezone(business_zone()).strftime("%d.%m.%Y %H:%M")
        body = (
            f"Здравствуйте!\n\nДля ключа защиты {event.key_serial} готов новый файл обновления "
            f"№ {event.sequence}; он действует до {valid_until} по московскому времени.\n"
            "Скачайте его в разделе «Ключи защиты» личного кабинета и запишите в ключ, чтобы "
            "лицензии на нём продолжали работать."
        )
        repository = NotificationRepository(session)
        for person in await PersonRepository(session).of_organization(event.organization_id):
            await repository.add_once(
                {
                    "id": uuid.uuid4(),
                    "dedup_key": f"update_file:{event_id}:{person.id}",
                    "ticket_id": None,
                    "recipient_id": person.id,
                    "subject": f"Файл обновления для ключа {event.key_serial}",
                    "body": body,
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": at,
                    "created_at": at,
                }
            )

    async def send_due(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, mailer: Mailer
    ) -> int:
        """Hands the due mails to the server; a failure is retried later. Returns how many
        were sent."""
        async with sessionmaker() as session, session.begin():
            claimed = await self._claim(session, clock.now())
        outcomes: list[tuple[_Claimed, str | None]] = []
        for mail in claimed:
            try:
                await mailer.send(mailer.compose(mail.address, mail.subject, mail.body))
            except Exception as exc:
                if not isinstance(exc, MailNotSent):
                    log.exception("notification_failed")
                outcomes.append((mail, str(exc)))
            else:
                outcomes.append((mail, None))
        if not outcomes:
            return 0
        async with sessionmaker() as session, session.begin():
            for mail, error in outcomes:
                await self._record(session, clock.now(), mail, error)
        return sum(error is None for _, error in outcomes)

    async def _claim(self, session: AsyncSession, now: datetime) -> list["_Claimed"]:
        claimed = []
        for notification, person in await NotificationRepository(session).due(now, BATCH):
            if person is None:
                # Identity has not told us the address yet: try again later.
                RETRIES.postpone(notification, now, "the recipient's address is not known yet")
                continue
            notification.next_attempt_at = now + CLAIM
            claimed.append(
                _Claimed(notification.id, person.email, notification.subject, notification.body)
            )
        await session.flush()
        return claimed

    async def _record(
        self, session: AsyncSession, now: datetime, mail: "_Claimed", error: str | None
    ) -> None:
        notification = await session.get(Notification, mail.id, with_for_update=True)
        if notification is None or notification.status != "pending":
            return
        if error is None:
            notification.status = "sent"
            notification.sent_at = now
            notification.sent_to = mail.address
            return
        RETRIES.postpone(notification, now, error)
        log.warning("notification_not_sent", attempts=notification.attempts)


@dataclass(frozen=True)
class _Claimed:
    """A mail taken for sending: what goes out, and which row to write the outcome to."""

    id: uuid.UUID
    address: str
    subject: str
    body: str


notification_service = NotificationService()
