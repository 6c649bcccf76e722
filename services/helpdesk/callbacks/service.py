"""Rule 10: callback requests, scheduled for support's next opening (now, if it is open) by the
working-time engine, rate-limited per phone and per address."""

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.calendar.service import calendar_service
from services.helpdesk.callbacks.repository import CallbackRepository, Counted
from services.helpdesk.callbacks.schemas import CallbackAsked
from services.helpdesk.config import Settings
from services.helpdesk.models import CallbackRequest
from shared.auth import Principal
from shared.clock import Clock
from shared.pagination import PageParams
from shared.problems import Conflict, InvalidInput, NotFound, TooManyRequests


@dataclass(frozen=True)
class RequestLimit:
    """A rate limit of rule 10: what it counts, over which window, and the refusal's words."""

    counted: Counted
    window: timedelta
    refusal: str


PER_PHONE = RequestLimit(
    "phone",
    timedelta(days=1),
    "A call back to this number is already requested; we will call",
)
PER_ADDRESS = RequestLimit(
    "address", timedelta(hours=1), "Too many call-back requests from this address"
)


def e164(phone: str) -> str:
    """The number in E.164 (a Russian one may be written 8 916 … or +7 (916) …)."""
    try:
        number = phonenumbers.parse(phone, "RU")
    except phonenumbers.NumberParseException as exc:
        raise InvalidInput("phone", "is not a phone number") from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidInput("phone", "is not a valid phone number")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _retry_after(oldest: datetime | None, window: timedelta, now: datetime) -> int:
    if oldest is None:
        return int(window.total_seconds())
    return max(1, int((oldest + window - now).total_seconds()) + 1)


class CallbackService:
    async def request(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        asked: CallbackAsked,
        address: str | None,
    ) -> CallbackRequest:
        now = clock.now()
        phone = e164(asked.phone)
        repository = CallbackRepository(session)
        await self._check(repository, PER_PHONE, phone, settings.callbacks_per_phone_per_day, now)
        if address:
            await self._check(
                repository, PER_ADDRESS, address, settings.callbacks_per_address_per_hour, now
            )
        status = await calendar_service.status(session, clock)
        return await repository.add(
            CallbackRequest(
                id=uuid.uuid4(),
                name=asked.name,
                phone=phone,
                topic=asked.topic,
                status="scheduled",
                requested_at=now,
                scheduled_for=now if status.open else status.next_open_at,
                client_address=address,
            )
        )

    async def _check(
        self,
        repository: CallbackRepository,
        limit: RequestLimit,
        value: str,
        most: int,
        now: datetime,
    ) -> None:
        """At most `most` requests from one phone (or address) within the limit's window."""
        await repository.lock(f"callback:{limit.counted}:{value}")
        count, oldest = await repository.count_since(limit.counted, value, now - limit.window)
        if count >= most:
            raise TooManyRequests(
                limit.refusal, retry_after=_retry_after(oldest, limit.window, now)
            )

    async def page(
        self, session: AsyncSession, status: str | None, params: PageParams
    ) -> tuple[list[CallbackRequest], str | None]:
        return await CallbackRepository(session).page(status, params)

    async def done(
        self, session: AsyncSession, clock: Clock, agent: Principal, callback_id: uuid.UUID
    ) -> CallbackRequest:
        callback = await CallbackRepository(session).get(callback_id)
        if callback is None:
            raise NotFound("No such callback request")
        if callback.status == "done":
            raise Conflict("The call back is already done", current_status=callback.status)
        callback.status = "done"
        callback.done_at = clock.now()
        callback.done_by = agent.user_id
        await session.flush()
        return callback


callback_service = CallbackService()
