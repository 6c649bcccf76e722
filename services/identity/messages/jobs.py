"""The job that sends what requests queued and retries what the providers refused."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.codes.delivery import Delivery
from services.identity.config import Settings
from services.identity.messages.service import message_service
from shared.clock import Clock
from shared.jobs import JobFn


def send_messages(settings: Settings) -> JobFn:
    delivery = Delivery(settings)

    async def run(session: AsyncSession, clock: Clock) -> None:
        await message_service.send_due(session, clock, delivery)

    return run
