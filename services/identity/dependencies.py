"""FastAPI dependencies identity's endpoints share."""

from typing import Annotated

from fastapi import Depends, Request

from services.identity.codes.delivery import Delivery
from services.identity.codes.service import CodeService
from services.identity.config import Settings
from services.identity.models import User
from shared.auth import AdminPrincipal, Principal
from shared.db import SessionDep
from shared.problems import Unauthorized
from shared.service import Runtime, get_runtime


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_delivery(request: Request) -> Delivery:
    delivery: Delivery = request.app.state.delivery
    return delivery


async def get_codes(
    request: Request, runtime: Annotated[Runtime, Depends(get_runtime)]
) -> CodeService:
    return CodeService(
        request.app.state.settings, request.app.state.delivery, runtime.sessionmaker, runtime.clock
    )


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DeliveryDep = Annotated[Delivery, Depends(get_delivery)]
CodesDep = Annotated[CodeService, Depends(get_codes)]


async def existing_admin(admin: AdminPrincipal, session: SessionDep) -> Principal:
    """An admin whose account exists: what it decides names it, so a principal for a user
    that is gone (or never was) is a 401, not a broken reference."""
    if admin.user_id is None or await session.get(User, admin.user_id) is None:
        raise Unauthorized("The account no longer exists; sign in again")
    return admin


IdentityAdmin = Annotated[Principal, Depends(existing_admin)]
