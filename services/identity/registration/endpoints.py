"""Registration step by step: lookup, the form, the two codes (spec 10-identity, rule 3)."""

import uuid
from typing import Any

from fastapi import APIRouter, status

from services.identity.dependencies import OutgoingDep, SettingsDep
from services.identity.registration.schemas import (
    LookupRequest,
    LookupResult,
    RegistrationRequest,
    RegistrationStatus,
    ResendRequest,
    VerificationRequest,
)
from services.identity.registration.service import registration_service
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES, Problem
from shared.service import ClockDep, OutboxDep, SessionmakerDep

router = APIRouter(tags=["registration"], responses=PROBLEM_RESPONSES)

TOO_SOON: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "description": "A code was sent less than a minute ago"}
}


@router.post("/api/v1/registration/lookup", response_model=LookupResult)
async def lookup_organization(
    body: LookupRequest, session: SessionDep, settings: SettingsDep
) -> LookupResult:
    """Organizations registered with the INN (+ KPP), or `new` with the registry's prefill."""
    return await registration_service.lookup(session, settings, body)


@router.post(
    "/api/v1/registration",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
)
async def start_registration(
    body: RegistrationRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    outgoing: OutgoingDep,
) -> RegistrationStatus:
    """Checks everything at once and sends a code to the e-mail and another to the phone
    (once the registration is stored: a provider that is down delays a code, nothing else)."""
    return await registration_service.start(session, clock, settings, outgoing, body)


@router.post(
    "/api/v1/registration/{registration_id}/verify",
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
)
async def verify_registration(
    registration_id: uuid.UUID,
    body: VerificationRequest,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    clock: ClockDep,
    settings: SettingsDep,
    outbox: OutboxDep,
    outgoing: OutgoingDep,
) -> RegistrationStatus:
    """A code for one channel; with both verified the registration is completed (joining an
    existing organization, the membership then waits for approval: `membership: pending`)."""
    return await registration_service.verify(
        session,
        sessionmaker,
        clock,
        settings,
        outbox,
        outgoing,
        registration_id,
        body.channel,
        body.code,
    )


@router.post(
    "/api/v1/registration/{registration_id}/resend",
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
    responses=TOO_SOON,
)
async def resend_registration_code(
    registration_id: uuid.UUID,
    body: ResendRequest,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    outgoing: OutgoingDep,
) -> RegistrationStatus:
    """A new code for one channel, no sooner than a minute after the last (429 otherwise)."""
    return await registration_service.resend(
        session, clock, settings, outgoing, registration_id, body.channel
    )
