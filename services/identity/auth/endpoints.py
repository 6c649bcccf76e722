"""Sign-in, tokens, password recovery, JWKS."""

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Response

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
from services.identity.auth.service import SignIn
from services.identity.auth.tokens import published_keys
from services.identity.dependencies import CodesDep, SettingsDep
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep, RuntimeDep

router = APIRouter(tags=["sign-in"], responses=PROBLEM_RESPONSES)


async def get_sign_in(settings: SettingsDep, runtime: RuntimeDep, codes: CodesDep) -> SignIn:
    return SignIn(settings, runtime.clock, runtime.sessionmaker, codes)


SignInDep = Annotated[SignIn, Depends(get_sign_in)]


@router.post("/api/v1/auth/login", response_model=TokenPair)
async def login(body: LoginRequest, session: SessionDep, sign_in: SignInDep) -> TokenPair:
    return await sign_in.login(session, body.login, body.password, body.organization_id)


@router.post("/api/v1/auth/accountant", response_model=TokenPair)
async def login_accountant(
    body: AccountantLoginRequest, session: SessionDep, sign_in: SignInDep
) -> TokenPair:
    return await sign_in.login_accountant(session, body.inn, body.contract_number)


@router.post("/api/v1/auth/refresh", response_model=TokenPair)
async def refresh(body: RefreshRequest, session: SessionDep, sign_in: SignInDep) -> TokenPair:
    return await sign_in.refresh(session, body.refresh_token)


@router.post("/api/v1/auth/logout", status_code=204)
async def logout(body: RefreshRequest, session: SessionDep, sign_in: SignInDep) -> Response:
    await sign_in.logout(session, body.refresh_token)
    return Response(status_code=204)


@router.post("/api/v1/auth/password-recovery", status_code=202, response_model=Accepted)
async def start_recovery(
    body: RecoveryStart, session: SessionDep, sign_in: SignInDep, background: BackgroundTasks
) -> Accepted:
    await sign_in.start_recovery(session, body.email, background)
    return Accepted(detail="If the e-mail belongs to an account, a code has been sent to it")


@router.post("/api/v1/auth/password-recovery/verify", response_model=RecoveryVerified)
async def verify_recovery(
    body: RecoveryVerify, session: SessionDep, sign_in: SignInDep
) -> RecoveryVerified:
    return await sign_in.verify_recovery(session, body.email, body.code)


@router.post("/api/v1/auth/password-recovery/complete", status_code=204)
async def complete_recovery(
    body: RecoveryComplete, session: SessionDep, sign_in: SignInDep
) -> Response:
    await sign_in.complete_recovery(
        session, body.recovery_token, body.organization_id, body.new_password
    )
    return Response(status_code=204)


@router.get("/api/v1/auth/jwks.json", response_model=Jwks)
async def jwks(
    session: SessionDep, settings: SettingsDep, clock: ClockDep, response: Response
) -> Jwks:
    grace = timedelta(seconds=settings.access_token_ttl_seconds * 2)
    response.headers["Cache-Control"] = "public, max-age=300"
    return Jwks(keys=await published_keys(session, clock.now(), grace))
