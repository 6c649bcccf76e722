"""The job that sends what requests queued and retries what the providers refused."""

from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.codes.delivery import Delivery
from services.identity.config import Settings
from services.identity.messages.repository import MessageRepository
from services.identity.messages.service import message_service
from shared.clock import Clock
from shared.jobs import JobFn, own_transactions

log = structlog.get_logger(__name__)

KEPT_AFTER_SENDING = timedelta(days=1)


def send_messages(settings: Settings) -> JobFn:
    delivery = Delivery(settings)

    async def run(session: AsyncSession, clock: Clock) -> None:
        # The messages are claimed, sent and recorded in short transactions of their own.
        await message_service.send_due(own_transactions(session), clock, delivery)

    return run


async def delete_sent_messages(session: AsyncSession, clock: Clock) -> None:
    """Rows of messages that went out (or expired) are kept a day for a look, then dropped."""
    deleted = await MessageRepository(session).delete_done(clock.now() - KEPT_AFTER_SENDING)
    if deleted:
        log.info("sent_messages_deleted", count=deleted)
