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

BATCH = 10
# How long a sender holds the messages it took: longer than a batch can take when every
# message waits for the provider's timeout (10 s by default), shorter than a code's life.
CLAIM = timedelta(minutes=3)
# 10 s, 20 s, 40 s, … at most 5 minutes: a code lives 10 minutes.
RETRIES = Backoff(first=timedelta(seconds=10), longest=timedelta(minutes=5))

MESSAGES = Counter(
    "kabinet_identity_messages_total",
    "Codes, logins and links handed to the mail server or SMS provider, by outcome",
    ["channel", "outcome"],
)


class MessageService:
    async def send_due(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, delivery: Delivery
    ) -> int:
        """Hands the due messages over; a failure waits for a later try. Returns how many went.

        No transaction is open while a provider is talked to (it may take its timeout for
        every message): the due rows are claimed for `CLAIM` in one short transaction, sent,
        and their outcome written in another. Another sender skips a claimed row until the
        claim runs out, which is longer than a batch can take, so a sender that died mid-batch
        only delays its messages.
        """
        async with sessionmaker() as session, session.begin():
            claimed = await self._claim(session, clock.now())
        outcomes: list[tuple[OutgoingMessage, str | None]] = []
        for message in claimed:
            try:
                await _transmit(delivery, message)
            except Exception as exc:
                outcomes.append((message, str(exc)))
            else:
                outcomes.append((message, None))
        if not outcomes:
            return 0
        async with sessionmaker() as session, session.begin():
            for message, error in outcomes:
                await self._record(session, clock.now(), message, error)
        return sum(error is None for _, error in outcomes)

    async def _claim(self, session: AsyncSession, now: datetime) -> list[OutgoingMessage]:
        claimed = []
        for message in await MessageRepository(session).due(now, BATCH):
            if message.expires_at is not None and message.expires_at <= now:
                message.status, message.text = "expired", None
                MESSAGES.labels(message.channel, "expired").inc()
                continue
            message.next_attempt_at = now + CLAIM
            claimed.append(message)
        await session.flush()
        return claimed

    async def _record(
        self, session: AsyncSession, now: datetime, sent: OutgoingMessage, error: str | None
    ) -> None:
        message = await session.get(OutgoingMessage, sent.id, with_for_update=True)
        if message is None:
            return
        if error is None:
            message.status, message.text, message.sent_at = "sent", None, now
            MESSAGES.labels(message.channel, "sent").inc()
            return
        MESSAGES.labels(message.channel, "failed").inc()
        if message.status == "pending":  # not withdrawn meanwhile
            RETRIES.postpone(message, now, error)
            log.warning("message_not_sent", channel=message.channel, attempts=message.attempts)

    async def send_queued(
        self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock, delivery: Delivery
    ) -> None:
        """Right after a request committed: its messages need not wait for the job."""
        try:
            await self.send_due(sessionmaker, clock, delivery)
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
