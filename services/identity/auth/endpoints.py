"""Sign-in, tokens, password recovery, JWKS."""

from datetime import timedelta

from fastapi import APIRouter, Response

from services.identity.auth.schemas import (
    Accepted,
    AccountantLoginRequest,
    Jwks,
    LoginRequest,
    RecoveryComplete,
    RecoveryStart,
    RecoveryVerified,
    RecoveryVerify,
    RefreshRequest,
    TokenPair,
)
from services.identity.auth.service import sign_in_service
from services.identity.auth.tokens import published_keys
from services.identity.dependencies import OutgoingDep, SettingsDep
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, SessionmakerDep

router = APIRouter(tags=["sign-in"], responses=PROBLEM_RESPONSES)


@router.post("/api/v1/auth/login", response_model=TokenPair)
async def login(
    body: LoginRequest,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TokenPair:
    return await sign_in_service.login(
        session, sessionmaker, clock, settings, body.login, body.password, body.organization_id
    )


@router.post("/api/v1/auth/accountant", response_model=TokenPair)
async def login_accountant(
    body: AccountantLoginRequest,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TokenPair:
    return await sign_in_service.login_accountant(
        session, sessionmaker, clock, settings, body.inn, body.contract_number
    )


@router.post("/api/v1/auth/refresh", response_model=TokenPair)
async def refresh(
    body: RefreshRequest,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> TokenPair:
    return await sign_in_service.refresh(session, sessionmaker, clock, settings, body.refresh_token)


@router.post("/api/v1/auth/logout", status_code=204)
async def logout(body: RefreshRequest, session: SessionDep, clock: ClockDep) -> Response:
    await sign_in_service.logout(session, clock, body.refresh_token)
    return Response(status_code=204)


@router.post("/api/v1/auth/password-recovery", status_code=202, response_model=Accepted)
async def start_recovery(
    body: RecoveryStart,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    outgoing: OutgoingDep,
) -> Accepted:
    await sign_in_service.start_recovery(session, clock, settings, outgoing, body.email)
    return Accepted(detail="If the e-mail belongs to an account, a code has been sent to it")


@router.post("/api/v1/auth/password-recovery/verify", response_model=RecoveryVerified)
async def verify_recovery(
    body: RecoveryVerify,
    session: SessionDep,
    sessionmaker: SessionmakerDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> RecoveryVerified:
    return await sign_in_service.verify_recovery(
        session, sessionmaker, clock, settings, body.email, body.code
    )


@router.post("/api/v1/auth/password-recovery/complete", status_code=204)
async def complete_recovery(
    body: RecoveryComplete, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    await sign_in_service.complete_recovery(
        session, clock, settings, body.recovery_token, body.organization_id, body.new_password
    )
    return Response(status_code=204)


@router.get("/api/v1/auth/jwks.json", response_model=Jwks)
async def jwks(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, response: Response
) -> Jwks:
    grace = timedelta(seconds=settings.access_token_ttl_seconds * 2)
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(keys=await published_keys(session, clock.now(), grace))
