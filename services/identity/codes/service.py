"""One-time codes: 6 digits, stored hashed, valid 10 minutes, 5 tries, 60 s between sends."""

import secrets
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.accounts.passwords import hash_secret, secret_matches
from services.identity.codes.repository import CodeRepository
from services.identity.config import Settings
from services.identity.messages.repository import MessageRepository
from services.identity.messages.service import Outgoing
from services.identity.models import OneTimeCode
from shared.clock import Clock
from shared.problems import InvalidInput, TooManyRequests

Channel = Literal["email", "phone"]
CODE_SUBJECT = "Код подтверждения Kabinet"


def new_code() -> str:
    return f"{secrets.randbelow(10**6):06d}"


class CodeService:
    async def send(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        outgoing: Outgoing,
        *,
        purpose: str,
        subject: str,
        channel: Channel,
        destination: str,
        text: str,
        deliver: bool = True,
    ) -> None:
        """Issues a code for (purpose, subject) and queues it for sending; `text` has a `{code}`
        slot. It goes out once the caller's transaction commits: a request that fails sends
        nothing, and a provider that is down delays the code instead of failing the request.

        With `deliver=False` the code is recorded but goes nowhere: for an address nobody
        owns, so that the answers (and the 60 s throttle) are the same as for a known one.
        """
        now = clock.now()
        codes = CodeRepository(session)
        last = await codes.last_sent(purpose, subject)
        wait = timedelta(seconds=settings.code_resend_seconds)
        if last is not None and now - last.sent_at < wait:
            retry_after = int((last.sent_at + wait - now).total_seconds()) + 1
            raise TooManyRequests(
                "A new code can be sent a minute after the last one", retry_after=retry_after
            )
        await self._check_destination(codes, now, settings, destination)
        # Only the newest code counts: older ones stop working when a new one is sent.
        # A retired code that has not gone out yet never will.
        await MessageRepository(session).withdraw_codes(
            await codes.retire_live(purpose, subject, now)
        )
        code = new_code()
        issued = OneTimeCode(
            purpose=purpose,
            subject=subject,
            destination=destination_key(destination),
            code_hash=await hash_secret(code),
            sent_at=now,
            expires_at=now + timedelta(seconds=settings.code_ttl_seconds),
            attempts=0,
        )
        await codes.add(issued)
        if not deliver:
            return
        await outgoing.queue(
            session,
            channel="email" if channel == "email" else "sms",
            to=destination,
            subject=CODE_SUBJECT if channel == "email" else None,
            text=text.format(code=code),
            expires_at=issued.expires_at,
            code_id=issued.id,
        )

    async def _check_destination(
        self, codes: CodeRepository, now: datetime, settings: Settings, destination: str
    ) -> None:
        """At most `code_destination_per_hour` codes an hour to one e-mail or phone, however
        many registrations or recoveries ask: nobody can pump codes at a number."""
        key = destination_key(destination)
        await codes.lock_destination(key)
        sent = await codes.sent_to(key, now - timedelta(hours=1))
        if len(sent) >= settings.code_destination_per_hour:
            raise TooManyRequests(
                "Too many codes to this address in the last hour",
                retry_after=_seconds_until(sent[-1] + timedelta(hours=1), now),
            )

    async def verify(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        *,
        purpose: str,
        subject: str,
        code: str,
        field: str = "code",
    ) -> None:
        """Raises a 422 naming `field` unless `code` is the live code; spends it when right.

        Runs in its own transaction, committed before any refusal is raised, so that a wrong
        try is counted even though the caller's request then fails and rolls back.
        """
        now = clock.now()
        refusal: str | None = None
        async with sessionmaker() as session, session.begin():
            current = await CodeRepository(session).live(purpose, subject)
            if current is None or current.expires_at <= now:
                refusal = "the code has expired or was not requested; ask again"
            elif current.attempts >= settings.code_max_attempts:
                refusal = "too many wrong tries; ask for a new code"
            else:
                current.attempts += 1
                right = code.isdigit() and len(code) == 6
                if right and await secret_matches(current.code_hash, code):
                    current.used_at = now
                else:
                    left = settings.code_max_attempts - current.attempts
                    if left <= 0:
                        current.used_at = now
                    refusal = (
                        f"wrong code; {left} tries left"
                        if left
                        else ("wrong code; no tries left, ask for a new code")
                    )
        if refusal is not None:
            raise InvalidInput(field, refusal)


code_service = CodeService()


def destination_key(destination: str) -> str:
    return destination.strip().lower()


def _seconds_until(moment: datetime, now: datetime) -> int:
    return int((moment - now).total_seconds()) + 1
