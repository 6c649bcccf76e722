"""Registration step by step (spec 10-identity, rules 1-6 and 9): lookup by INN, the form
checked at once, e-mail and phone proved with one-time codes, and only then the organization
and the user created and announced on the bus.

The steps live beside this module: `lookup`, `form`, `verification`, `completion`; this is the
order they are taken in and what is kept between them (the pending registration).
"""

import uuid
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from uuid6 import uuid7

from services.identity.accounts.passwords import hash_secret
from services.identity.config import Settings
from services.identity.messages.service import Outgoing
from services.identity.models import PendingRegistration
from services.identity.registration import lookup
from services.identity.registration.completion import complete, completed_status
from services.identity.registration.form import check_form
from services.identity.registration.repository import RegistrationRepository
from services.identity.registration.schemas import (
    Channel,
    LookupRequest,
    LookupResult,
    RegistrationRequest,
    RegistrationStatus,
)
from services.identity.registration.verification import (
    CHANNELS,
    check_code,
    mark_verified,
    pending_channels,
    pending_status,
    send_code,
    verified_at,
)
from shared.bus.outbox import Outbox
from shared.clock import Clock
from shared.problems import Conflict, NotFound


class RegistrationService:
    async def lookup(
        self, session: AsyncSession, settings: Settings, request: LookupRequest
    ) -> LookupResult:
        """Organizations registered with the INN (+ KPP), or `new` with the registry's prefill."""
        return await lookup.lookup(session, settings, request)

    async def start(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        outgoing: Outgoing,
        request: RegistrationRequest,
    ) -> RegistrationStatus:
        """The form checked whole; then a code to the e-mail and another to the phone."""
        form = await check_form(session, settings.password_min_length, request)
        now = clock.now()
        pending = PendingRegistration(
            id=uuid7(),
            organization_id=form.joined.id if form.joined is not None else None,
            organization=(
                form.new_organization.model_dump(mode="json")
                if form.new_organization is not None
                else None
            ),
            contact=form.contact.model_dump(),
            password_hash=await hash_secret(request.contact.password),
            email=form.contact.email,
            phone=form.contact.phone,
            created_at=now,
            expires_at=now + timedelta(hours=settings.registration_ttl_hours),
        )
        await RegistrationRepository(session).add(pending)
        # Whether the e-mail is known elsewhere is not looked at here: answering differently
        # would tell an unproved caller who is registered (rule 7).
        for channel in CHANNELS:
            await send_code(session, clock, settings, outgoing, pending, channel)
        return pending_status(pending)

    async def verify(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        outbox: Outbox,
        outgoing: Outgoing,
        registration_id: uuid.UUID,
        channel: Channel,
        code: str,
    ) -> RegistrationStatus:
        """A code for one channel; with both verified, the registration is completed."""
        # The code first, in a transaction of its own, before this request's session takes a
        # connection: no request holds two pooled connections at once.
        refusal = await check_code(sessionmaker, clock, settings, registration_id, channel, code)
        pending = await self._live(session, clock, registration_id)
        if pending.completed_at is not None or verified_at(pending, channel) is not None:
            # Repeating a call that succeeded answers the same again.
            return await self._current_status(session, pending)
        if refusal is not None:
            raise refusal
        mark_verified(pending, channel, clock)
        if pending_channels(pending):
            await session.flush()
            return pending_status(pending)
        return await complete(session, clock, settings, outbox, outgoing, pending)

    async def resend(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        outgoing: Outgoing,
        registration_id: uuid.UUID,
        channel: Channel,
    ) -> RegistrationStatus:
        pending = await self._live(session, clock, registration_id)
        if pending.completed_at is not None:
            raise Conflict("The registration is completed already")
        if verified_at(pending, channel) is not None:
            raise Conflict(f"The {channel} is verified already")
        await send_code(session, clock, settings, outgoing, pending, channel)
        return pending_status(pending)

    async def _live(
        self, session: AsyncSession, clock: Clock, registration_id: uuid.UUID
    ) -> PendingRegistration:
        pending = await RegistrationRepository(session).get_pending(
            registration_id, for_update=True
        )
        if pending is None or pending.expires_at <= clock.now():
            # Expired and deleted look the same (404) whether or not the cleanup ran yet.
            raise NotFound("No registration in progress with this id; it may have expired")
        return pending

    async def _current_status(
        self, session: AsyncSession, pending: PendingRegistration
    ) -> RegistrationStatus:
        if pending.completed_at is None:
            return pending_status(pending)
        assert pending.organization_id is not None
        organization = await RegistrationRepository(session).get_organization(
            pending.organization_id
        )
        assert organization is not None
        user = await RegistrationRepository(session).get_user(pending.user_id)
        return completed_status(pending, organization, user.membership if user else "declined")


registration_service = RegistrationService()
