"""The signed-in caller: profile, organization, roles; changing one's own password."""

from typing import Annotated

from fastapi import APIRouter, Depends, Response

from services.identity.accounts.passwords import check_password_rules, secret_matches
from services.identity.accounts.schemas import (
    Me,
    MeApiKey,
    MeOrganization,
    MeUser,
    PasswordChange,
)
from services.identity.auth.endpoints import SignInDep
from services.identity.dependencies import SettingsDep
from services.identity.models import ApiKey, Organization, User
from services.identity.organizations.schemas import customer_number_text
from shared.auth import CurrentPrincipal, Principal, require_scope
from shared.db import SessionDep
from shared.problems import PROBLEM_RESPONSES, InvalidInput, NotFound, Unauthorized
from shared.service import ClockDep

router = APIRouter(tags=["my account"], responses=PROBLEM_RESPONSES)


def organization_view(org: Organization | None) -> MeOrganization | None:
    if org is None:
        return None
    return MeOrganization(
        id=org.id,
        name=org.short_name or org.full_name,
        inn=org.inn,
        kpp=org.kpp,
        customer_number=customer_number_text(org.customer_number),
    )


@router.get("/api/v1/me", response_model=Me)
async def me(
    principal: Annotated[Principal, Depends(require_scope("read"))], session: SessionDep
) -> Me:
    org = (
        await session.get(Organization, principal.organization_id)
        if principal.organization_id
        else None
    )
    if principal.kind == "api_key":
        key = await session.get(ApiKey, principal.api_key_id)
        if key is None:
            raise NotFound("The API key is gone")
        return Me(
            api_key=MeApiKey(id=key.id, prefix=key.prefix, scopes=list(key.scopes)),
            organization=organization_view(org),
        )
    if principal.kind == "accountant":
        user_view = MeUser(id=None, full_name=None, email=None, phone=None, roles=["accountant"])
        return Me(user=user_view, organization=organization_view(org))
    user = await session.get(User, principal.user_id) if principal.user_id else None
    if user is None:
        raise Unauthorized("The account no longer exists")
    return Me(
        user=MeUser(
            id=user.id,
            full_name=user.full_name,
            email=user.email,
            phone=user.phone,
            roles=list(user.roles),
        ),
        organization=organization_view(org),
    )


@router.post("/api/v1/me/password", status_code=204)
async def change_password(
    body: PasswordChange,
    principal: CurrentPrincipal,
    session: SessionDep,
    settings: SettingsDep,
    clock: ClockDep,
    sign_in: SignInDep,
) -> Response:
    user = await session.get(User, principal.user_id) if principal.user_id else None
    if user is None or principal.kind != "user":
        raise NotFound("Only a person's account has a password")
    if not await secret_matches(user.password_hash, body.current_password):
        raise InvalidInput("current_password", "the current password is wrong")
    check_password_rules(body.new_password, settings.password_min_length, "new_password")
    await sign_in.set_password(session, user, body.new_password, clock.now())
    return Response(status_code=204)
