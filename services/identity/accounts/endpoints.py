"""The signed-in caller: profile, organization, roles; changing one's own password."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.identity.accounts.schemas import Me, PasswordChange
from services.identity.accounts.service import account_service
from services.identity.dependencies import SettingsDep
from shared.auth import CurrentPrincipal, Principal, require_scope
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES
from shared.service import ClockDep

router = APIRouter(tags=["my account"], responses=PROBLEM_RESPONSES)


@router.get("/api/v1/me", response_model=Me)
async def me(
    principal: Annotated[Principal, Depends(require_scope("read"))], session: SessionDep
) -> Me:
    return await account_service.me(session, principal)


@router.post("/api/v1/me/password", status_code=204)
async def change_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
) -> Response:
    await account_service.change_password(session, clock, settings, principal, body)
    return Response(status_code=204)
