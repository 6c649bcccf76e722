"""Codes, logins and approval links reach people after the transaction that made them committed.

A request writes each message into `outgoing_messages` in its own transaction (`queue`), so a
request that fails sends nothing, and an SMS provider or mail server that is down fails nothing:
right after the answer the request tries to send what it queued, and the job `send_messages`
retries whatever is left with a growing pause. Rows are taken `FOR UPDATE SKIP LOCKED`, so two
replicas never send one message at the same time. The text of a message (it may carry a code or
a link) is wiped as soon as the message is sent, or once the code in it expired unsent.
"""

import uuid
from datetime import datetime, timedelta
from typing import Literal

import structlog
from fastapi import BackgroundTasks
from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.codes.delivery import Delivery
from services.identity.messages.repository import MessageRepository
from services.identity.models import OutgoingMessage
from shared.clock import Clock
from shared.retries import Backoff

log = structlog.get_logger(__name__)

MessageChannel = Literal["email", "sms"]

BATCH = 50
# 10 s, 20 s, 40 s, … at most 5 minutes: a code lives 10 minutes.
RETRIES = Backoff(first=timedelta(seconds=10), longest=timedelta(minutes=5))

MESSAGES = Counter(
    "kabinet_identity_messages_total",
    "Codes, logins and links handed to the mail server or SMS provider, by outcome",
    ["channel", "outcome"],
)


class MessageService:
    async def send_due(self, session: AsyncSession, clock: Clock, delivery: Delivery) -> int:
        """Hands the due messages over; a failure waits for a later try. Returns how many went."""
        sent = 0
        for message in await MessageRepository(session).due(clock.now(), BATCH):
            now = clock.now()
            if message.expires_at is not None and message.expires_at <= now:
                message.status, message.text = "expired", None
                MESSAGES.labels(message.channel, "expired").inc()
                continue
            try:
                await _transmit(delivery, message)
            except Exception as exc:
                RETRIES.postpone(message, now, str(exc))
                MESSAGES.labels(message.channel, "failed").inc()
                log.warning("message_not_sent", channel=message.channel, attempts=message.attempts)
                continue
            message.status, message.text, message.sent_at = "sent", None, now
            MESSAGES.labels(message.channel, "sent").inc()
            sent += 1
        await session.flush()
        return sent

    async def send_queued(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, delivery: Delivery
    ) -> None:
        """Right after a request committed: its messages need not wait for the job."""
        try:
            async with sessionmaker() as session, session.begin():
                await self.send_due(session, clock, delivery)
        except Exception:
            # The job tries again; nobody waits for this.
            log.exception("messages_not_sent_after_request")


async def _transmit(delivery: Delivery, message: OutgoingMessage) -> None:
    assert message.text is not None
    if message.channel == "email":
        await delivery.send_email(message.recipient, message.subject or "Kabinet", message.text)
    else:
        await delivery.send_sms(message.recipient, message.text)


message_service = MessageService()


class Outgoing:
    """One request's messages: written in its transaction, sent right after its answer went
    out (after commit), and by the job for as long as a provider refuses them."""

    def __init__(
        self,
        clock: Clock,
        sessionmaker: async_sessionmaker[AsyncSession],
        delivery: Delivery,
        after_response: BackgroundTasks,
    ) -> None:
        self.clock = clock
        self.sessionmaker = sessionmaker
        self.delivery = delivery
        self.after_response = after_response
        self._send_scheduled = False

    async def queue(
        self,
        session: AsyncSession,
        *,
        channel: MessageChannel,
        to: str,
        text: str,
        subject: str | None = None,
        expires_at: datetime | None = None,
        code_id: uuid.UUID | None = None,
    ) -> None:
        """Writes the message in the caller's transaction; it goes out once that commits."""
        now = self.clock.now()
        await MessageRepository(session).add(
            OutgoingMessage(
                channel=channel,
                recipient=to,
                subject=subject,
                text=text,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                expires_at=expires_at,
                code_id=code_id,
                created_at=now,
            )
        )
        if not self._send_scheduled:
            self._send_scheduled = True
            self.after_response.add_task(
                message_service.send_queued, self.sessionmaker, self.clock, self.delivery
            )
