"""Registration, step 3: the e-mail and the phone proved with one-time codes (rule 3)."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.codes.service import code_service
from services.identity.config import Settings
from services.identity.messages.service import Outgoing
from services.identity.models import PendingRegistration
from services.identity.registration.schemas import Channel, RegistrationStatus
from shared.clock import Clock
from shared.problems import InvalidInput

CODE_PURPOSE = "registration"
CHANNELS: tuple[Channel, ...] = ("email", "phone")

EMAIL_CODE_TEXT = (
    "Код подтверждения e-mail для регистрации в Kabinet: {code}\n"
    "Код действует 10 минут. Если вы не регистрировались, не отвечайте на это письмо."
)
SMS_CODE_TEXT = "Kabinet: код подтверждения телефона {code}"


async def send_code(
    session: AsyncSession,
    clock: Clock,
    settings: Settings,
    outgoing: Outgoing,
    pending: PendingRegistration,
    channel: Channel,
) -> None:
    await code_service.send(
        session,
        clock,
        settings,
        outgoing,
        purpose=CODE_PURPOSE,
        subject=code_subject(pending.id, channel),
        channel=channel,
        destination=pending.email if channel == "email" else pending.phone,
        text=EMAIL_CODE_TEXT if channel == "email" else SMS_CODE_TEXT,
    )


async def check_code(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock,
    settings: Settings,
    registration_id: uuid.UUID,
    channel: Channel,
    code: str,
) -> InvalidInput | None:
    """Whether `code` is the channel's live code (spent when it is), checked in a transaction
    of its own; the refusal is returned, for the caller to raise once it knows more."""
    try:
        await code_service.verify(
            sessionmaker,
            clock,
            settings,
            purpose=CODE_PURPOSE,
            subject=code_subject(registration_id, channel),
            code=code,
            field="code",
        )
    except InvalidInput as refusal:
        return refusal
    return None


def mark_verified(pending: PendingRegistration, channel: Channel, clock: Clock) -> None:
    if channel == "email":
        pending.email_verified_at = clock.now()
    else:
        pending.phone_verified_at = clock.now()


def code_subject(registration_id: uuid.UUID, channel: Channel) -> str:
    return f"{registration_id}:{channel}"


def verified_at(pending: PendingRegistration, channel: Channel) -> object | None:
    return pending.email_verified_at if channel == "email" else pending.phone_verified_at


def pending_channels(pending: PendingRegistration) -> list[Channel]:
    return [channel for channel in CHANNELS if verified_at(pending, channel) is None]


def pending_status(pending: PendingRegistration) -> RegistrationStatus:
    return RegistrationStatus(
        registration_id=pending.id,
        status="pending_verification",
        pending=pending_channels(pending),
    )
