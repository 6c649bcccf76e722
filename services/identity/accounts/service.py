"""The signed-in caller's own account: who it is, and changing its own password."""

from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.accounts.passwords import check_password_rules, secret_matches
from services.identity.accounts.repository import AccountRepository
from services.identity.accounts.schemas import (
    Me,
    MeApiKey,
    MeOrganization,
    MeUser,
    PasswordChange,
)
from services.identity.auth.service import sign_in_service
from services.identity.config import Settings
from services.identity.models import Organization
from services.identity.organizations.schemas import customer_number_text
from shared.auth import Principal
from shared.clock import Clock
from shared.problems import InvalidInput, NotFound, Unauthorized


class AccountService:
    async def me(self, session: AsyncSession, principal: Principal) -> Me:
        accounts = AccountRepository(session)
        organization = _organization_view(await accounts.organization(principal.organization_id))
        if principal.kind == "api_key":
            key = await accounts.api_key(principal.api_key_id)
            if key is None:
                raise NotFound("The API key is gone")
            return Me(
                api_key=MeApiKey(id=key.id, prefix=key.prefix, scopes=list(key.scopes)),
                organization=organization,
            )
        if principal.kind == "accountant":
            user_view = MeUser(
                id=None, full_name=None, email=None, phone=None, roles=["accountant"]
            )
            return Me(user=user_view, organization=organization)
        user = await accounts.user(principal.user_id)
        if user is None:
            raise Unauthorized("The account no longer exists")
        return Me(
            user=MeUser(
                id=user.id,
                full_name=user.full_name,
                email=user.email,
                phone=user.phone,
                roles=list(user.roles),
                membership=user.membership,
            ),
            organization=organization,
        )

    async def change_password(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        principal: Principal,
        change: PasswordChange,
    ) -> None:
        user = await AccountRepository(session).user(principal.user_id)
        if user is None or principal.kind != "user":
            raise NotFound("Only a person's account has a password")
        if not await secret_matches(user.password_hash, change.current_password):
            raise InvalidInput("current_password", "the current password is wrong")
        check_password_rules(change.new_password, settings.password_min_length, "new_password")
        await sign_in_service.set_password(session, user, change.new_password, clock.now())


def _organization_view(org: Organization | None) -> MeOrganization | None:
    if org is None:
        return None
    return MeOrganization(
        id=org.id,
        name=org.short_name or org.full_name,
        inn=org.inn,
        kpp=org.kpp,
        customer_number=customer_number_text(org.customer_number),
    )


account_service = AccountService()
