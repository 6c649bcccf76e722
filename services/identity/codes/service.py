"""One-time codes: 6 digits, stored hashed, valid 10 minutes, 5 tries, 60 s between sends."""

import contextlib
import secrets
from datetime import datetime, timedelta
from typing import Literal

from fastapi import BackgroundTasks
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.accounts.passwords import hash_secret, secret_matches
from services.identity.codes.delivery import Delivery, DeliveryFailed
from services.identity.config import Settings
from services.identity.models import OneTimeCode
from shared.clock import Clock
from shared.db import advisory_key
from shared.problems import InvalidInput, TooManyRequests

Channel = Literal["email", "phone"]


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


class CodeService:
    def __init__(
        self,
        settings: Settings,
        delivery: Delivery,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
    ) -> None:
        self.settings = settings
        self.delivery = delivery
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def send(
        self,
        session: AsyncSession,
        *,
        purpose: str,
        subject: str,
        channel: Channel,
        destination: str,
        text: str,
        deliver: bool = True,
        after_response: BackgroundTasks | None = None,
    ) -> None:
        """Issues a code for (purpose, subject) and sends it; `text` has a `{code}` slot.

        With `deliver=False` the code is recorded but goes nowhere: for an address nobody
        owns, so that the answers (and the 60 s throttle) are the same as for a known one.
        With `after_response`, sending waits until the answer has gone out, so its timing
        cannot tell a known address from an unknown one.
        """
        now = self.clock.now()
        last = await session.scalar(
            select(OneTimeCode)
            .where(OneTimeCode.purpose == purpose, OneTimeCode.subject == subject)
            .order_by(OneTimeCode.sent_at.desc())
            .limit(1)
            .with_for_update()
        )
        wait = timedelta(seconds=self.settings.code_resend_seconds)
        if last is not None and now - last.sent_at < wait:
            retry_after = int((last.sent_at + wait - now).total_seconds()) + 1
            raise TooManyRequests(
                "A new code can be sent a minute after the last one", retry_after=retry_after
            )
        await self._check_destination(session, now, destination)
        # Only the newest code counts: older ones stop working when a new one is sent.
        await session.execute(
            update(OneTimeCode)
            .where(
                OneTimeCode.purpose == purpose,
                OneTimeCode.subject == subject,
                OneTimeCode.used_at.is_(None),
            )
            .values(used_at=now)
        )
        code = new_code()
        session.add(
            OneTimeCode(
                purpose=purpose,
                subject=subject,
                destination=destination_key(destination),
                code_hash=await hash_secret(code),
                sent_at=now,
                expires_at=now + timedelta(seconds=self.settings.code_ttl_seconds),
                attempts=0,
            )
        )
        await session.flush()
        if not deliver:
            return
        message = text.format(code=code)
        if after_response is not None:
            after_response.add_task(self._deliver_quietly, channel, destination, message)
        else:
            await self._deliver(channel, destination, message)

    async def _check_destination(
        self, session: AsyncSession, now: datetime, destination: str
    ) -> None:
        """At most `code_destination_per_hour` codes an hour to one e-mail or phone, however
        many registrations or recoveries ask: nobody can pump codes at a number."""
        key = destination_key(destination)
        # Serializes the codes sent to one destination until this transaction ends.
        lock = advisory_key(f"code-destination:{key}")
        await session.execute(select(func.pg_advisory_xact_lock(lock)))
        sent = list(
            await session.scalars(
                select(OneTimeCode.sent_at)
                .where(
                    OneTimeCode.destination == key,
                    OneTimeCode.sent_at > now - timedelta(hours=1),
                )
                .order_by(OneTimeCode.sent_at.desc())
            )
        )
        if len(sent) >= self.settings.code_destination_per_hour:
            retry_at = sent[-1] + timedelta(hours=1)
            raise TooManyRequests(
                "Too many codes to this address in the last hour",
                retry_after=int((retry_at - now).total_seconds()) + 1,
            )

    async def _deliver(self, channel: Channel, destination: str, message: str) -> None:
        if channel == "email":
            await self.delivery.send_email(destination, "Код подтверждения Kabinet", message)
        else:
            await self.delivery.send_sms(destination, message)

    async def _deliver_quietly(self, channel: Channel, destination: str, message: str) -> None:
        # Nobody waits for the answer any more; a failure is logged by the delivery.
        with contextlib.suppress(DeliveryFailed):
            await self._deliver(channel, destination, message)

    async def verify(self, *, purpose: str, subject: str, code: str, field: str = "code") -> None:
        """Raises a 422 naming `field` unless `code` is the live code; spends it when right.

        Runs in its own transaction, committed before any refusal is raised, so that a wrong
        try is counted even though the caller's request then fails and rolls back.
        """
        now = self.clock.now()
        refusal: str | None = None
        async with self.sessionmaker() as session, session.begin():
            current = await session.scalar(
                select(OneTimeCode)
                .where(
                    OneTimeCode.purpose == purpose,
                    OneTimeCode.subject == subject,
                    OneTimeCode.used_at.is_(None),
                )
                .order_by(OneTimeCode.sent_at.desc())
                .limit(1)
                .with_for_update()
            )
            if current is None or current.expires_at <= now:
                refusal = "the code has expired or was not requested; ask again"
            elif current.attempts >= self.settings.code_max_attempts:
                refusal = "too many wrong tries; ask for a new code"
            else:
                current.attempts += 1
                right = code.isdigit() and len(code) == 6
                if right and await secret_matches(current.code_hash, code):
                    current.used_at = now
                else:
                    left = self.settings.code_max_attempts - current.attempts
                    if left <= 0:
                        current.used_at = now
                    refusal = (
                        f"wrong code; {left} tries left"
                        if left
                        else ("wrong code; no tries left, ask for a new code")
                    )
        if refusal is not None:
            raise InvalidInput(field, refusal)


def destination_key(destination: str) -> str:
    return destination.strip().lower()
