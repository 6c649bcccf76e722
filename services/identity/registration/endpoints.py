"""Registration step by step: lookup, the form, the two codes (spec 10-identity, rule 3)."""

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, status

from services.identity.dependencies import CodesDep, DeliveryDep, SettingsDep
from services.identity.registration.schemas import (
    LookupRequest,
    LookupResult,
    RegistrationRequest,
    RegistrationStatus,
    ResendRequest,
    VerificationRequest,
)
from services.identity.registration.service import RegistrationService, send_login_notice
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES, Problem
from shared.service import ClockDep, OutboxDep

router = APIRouter(tags=["registration"], responses=PROBLEM_RESPONSES)

TOO_SOON: dict[int | str, dict[str, Any]] = {
    429: {"model": Problem, "description": "A code was sent less than a minute ago"}
}


async def registration_service(
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    codes: CodesDep,
    outbox: OutboxDep,
) -> RegistrationService:
    return RegistrationService(session, settings=settings, clock=clock, codes=codes, outbox=outbox)


RegistrationServiceDep = Annotated[RegistrationService, Depends(registration_service)]


@router.post("/api/v1/registration/lookup", response_model=LookupResult)
async def lookup_organization(
    body: LookupRequest, registration: RegistrationServiceDep
) -> LookupResult:
    """Organizations registered with the INN (+ KPP), or `new` with the registry's prefill."""
    return await registration.lookup(body)


@router.post(
    "/api/v1/registration",
    status_code=status.HTTP_201_CREATED,
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
)
async def start_registration(
    body: RegistrationRequest, registration: RegistrationServiceDep
) -> RegistrationStatus:
    """Checks everything at once and sends a code to the e-mail and another to the phone."""
    return await registration.start(body)


@router.post(
    "/api/v1/registration/{registration_id}/verify",
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
)
async def verify_registration(
    registration_id: uuid.UUID,
    body: VerificationRequest,
    registration: RegistrationServiceDep,
    delivery: DeliveryDep,
    background: BackgroundTasks,
) -> RegistrationStatus:
    """A code for one channel; with both verified the registration is completed."""
    result, notice = await registration.verify(registration_id, body.channel, body.code)
    if notice is not None:
        # Background tasks run after the response, so after the request's commit.
        background.add_task(send_login_notice, delivery, notice)
    return result


@router.post(
    "/api/v1/registration/{registration_id}/resend",
    response_model=RegistrationStatus,
    response_model_exclude_none=True,
    responses=TOO_SOON,
)
async def resend_registration_code(
    registration_id: uuid.UUID, body: ResendRequest, registration: RegistrationServiceDep
) -> RegistrationStatus:
    """A new code for one channel, no sooner than a minute after the last (429 otherwise)."""
    return await registration.resend(registration_id, body.channel)
