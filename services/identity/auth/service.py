"""Sign-in rules: contacts and staff by login + password, accountants by INN + contract number,
rotating refresh tokens with reuse detection, lockout, password recovery."""

import uuid
from datetime import datetime, timedelta

import phonenumbers
from fastapi import BackgroundTasks
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.accounts.passwords import (
    DUMMY_HASH,
    check_password_rules,
    hash_secret,
    secret_matches,
)
from services.identity.auth import repository
from services.identity.auth.schemas import OrganizationChoice, RecoveryVerified, TokenPair
from services.identity.auth.tokens import (
    active_key,
    encode_access_token,
    new_opaque_token,
    token_hash,
)
from services.identity.codes.service import CodeService
from services.identity.config import Settings
from services.identity.models import RecoveryToken, RefreshToken, User
from services.identity.organizations.schemas import customer_number_text
from shared.clock import Clock
from shared.problems import InvalidInput, ProblemError, TooManyRequests, Unauthorized

WRONG_CREDENTIALS = "The login or the password is wrong"
RECOVERY_PURPOSE = "password_recovery"


class ChooseOrganization(ProblemError):
    status, type_name, title = 409, "choose-organization", "Choose the organization"


def parse_login(login: str) -> tuple[str | None, str | None]:
    """(email, phone): an e-mail is lower-cased; anything else is read as a phone number."""
    login = login.strip()
    if "@" in login:
        return login.lower(), None
    try:
        number = phonenumbers.parse(login, "RU")
    except phonenumbers.NumberParseException:
        return None, None
    return None, phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def login_key(login: str) -> str:
    """The account a login names, however it is spelt: the lower-cased e-mail, the E.164 phone
    (`8 (916) 052-45-70` and `+79160524570` are one account), else the text itself."""
    email, phone = parse_login(login)
    return f"login:{email or phone or login.strip().lower()}"


def accountant_key(inn: str) -> str:
    return "accountant:" + "".join(ch for ch in inn if ch.isdigit())


class SignIn:
    def __init__(
        self,
        settings: Settings,
        clock: Clock,
        sessionmaker: async_sessionmaker[AsyncSession],
        codes: CodeService,
    ) -> None:
        self.settings = settings
        self.clock = clock
        self.sessionmaker = sessionmaker
        self.codes = codes

    # --- lockout: 5 failures for one login in 15 minutes lock it for 15 minutes ---
    #
    # Each try is written down as a failure *before* the secret is checked, in a short
    # transaction of its own serialized per account, and taken back when the secret is right:
    # concurrent wrong tries can never check more than the allowance. Neither transaction
    # overlaps the request's own session, so a request holds one pooled connection at a time.

    async def check_not_locked(self, session: AsyncSession, key: str) -> None:
        now = self.clock.now()
        window = timedelta(minutes=self.settings.lockout_minutes)
        failures = await repository.recent_failures(session, key, now - 2 * window)
        n = self.settings.lockout_failures
        for i in range(len(failures) - n + 1):
            if failures[i] - failures[i + n - 1] <= window:
                locked_until = failures[i] + window
                if locked_until > now:
                    raise TooManyRequests(
                        "Too many failed sign-ins; try again later",
                        retry_after=int((locked_until - now).total_seconds()) + 1,
                    )
                break

    async def take_try(self, session: AsyncSession, key: str) -> int:
        """Counts one try for the account `key` as a failure, unless it is locked (429).

        Returns the failure's id, for `give_back_try` when the try succeeds.
        """
        await repository.lock_account(session, key)
        await self.check_not_locked(session, key)
        return await repository.add_failure(session, key, self.clock.now())

    async def give_back_try(self, try_id: int) -> None:
        async with self.sessionmaker() as own, own.begin():
            await repository.remove_failure(own, try_id)

    # --- tokens ---

    async def issue(
        self,
        session: AsyncSession,
        *,
        kind: str,
        user_id: uuid.UUID | None,
        organization_id: uuid.UUID | None,
        roles: list[str],
        family_id: uuid.UUID | None = None,
    ) -> TokenPair:
        now = self.clock.now()
        ttl = timedelta(seconds=self.settings.access_token_ttl_seconds)
        key = await active_key(session)
        subject = str(user_id) if user_id else f"organization:{organization_id}"
        access = encode_access_token(
            key,
            issuer=self.settings.jwt_issuer,
            subject=subject,
            kind=kind,
            organization_id=organization_id,
            user_id=user_id,
            roles=roles,
            now=now,
            ttl=ttl,
        )
        refresh = new_opaque_token()
        session.add(
            RefreshToken(
                family_id=family_id or uuid.uuid4(),
                token_hash=token_hash(refresh),
                user_id=user_id,
                organization_id=organization_id,
                role=kind,
                created_at=now,
                expires_at=now + timedelta(days=self.settings.refresh_token_ttl_days),
            )
        )
        await session.flush()
        return TokenPair(
            access_token=access, refresh_token=refresh, expires_in=int(ttl.total_seconds())
        )

    async def login(
        self, session: AsyncSession, login: str, password: str, organization_id: uuid.UUID | None
    ) -> TokenPair:
        email, phone = parse_login(login)
        async with self.sessionmaker() as own, own.begin():
            try_id = await self.take_try(own, login_key(login))
            candidates = await repository.find_users(own, email, phone) if email or phone else []
        # The passwords are checked holding no database connection.
        if organization_id is not None:
            candidates = [u for u in candidates if u.organization_id == organization_id]
        matching = [u for u in candidates if await secret_matches(u.password_hash, password)]
        if not candidates:
            await secret_matches(DUMMY_HASH, password)  # same time for an unknown login
        if not matching:
            raise Unauthorized(WRONG_CREDENTIALS)
        await self.give_back_try(try_id)
        if len(matching) > 1:
            organizations = await repository.organizations_by_id(
                session, {u.organization_id for u in matching if u.organization_id}
            )
            raise ChooseOrganization(
                "This login belongs to several organizations; repeat with organization_id",
                organizations=[
                    OrganizationChoice(
                        id=org.id,
                        name=org.short_name or org.full_name,
                        customer_number=customer_number_text(org.customer_number),
                    ).model_dump(mode="json")
                    for org in organizations.values()
                ],
            )
        user = matching[0]
        return await self.issue(
            session,
            kind="user",
            user_id=user.id,
            organization_id=user.organization_id,
            roles=list(user.roles),
        )

    async def login_accountant(self, session: AsyncSession, inn: str, number: str) -> TokenPair:
        async with self.sessionmaker() as own, own.begin():
            try_id = await self.take_try(own, accountant_key(inn))
            organization_id = await repository.contract_organization(
                own, inn.strip(), number.strip()
            )
            if organization_id is not None:
                await repository.remove_failure(own, try_id)
        if organization_id is None:
            raise Unauthorized("The INN or the contract number is wrong")
        return await self.issue(
            session,
            kind="accountant",
            user_id=None,
            organization_id=organization_id,
            roles=["accountant"],
        )

    async def refresh(self, session: AsyncSession, refresh_token: str) -> TokenPair:
        now = self.clock.now()
        current = await repository.refresh_token_for_update(session, token_hash(refresh_token))
        if current is None or current.revoked_at is not None or current.expires_at <= now:
            raise Unauthorized("The refresh token is not valid")
        if current.used_at is not None:
            # A spent token came back: someone holds a copy. End the whole family, in its own
            # transaction (this request fails), after letting go of the row lock taken above.
            family_id = current.family_id
            await session.rollback()
            async with self.sessionmaker() as own, own.begin():
                await repository.revoke_family(own, family_id, now)
            raise Unauthorized("The refresh token was already used; sign in again")
        current.used_at = now
        roles = (
            ["accountant"] if current.role == "accountant" else await self._roles(session, current)
        )
        return await self.issue(
            session,
            kind=current.role,
            user_id=current.user_id,
            organization_id=current.organization_id,
            roles=roles,
            family_id=current.family_id,
        )

    async def _roles(self, session: AsyncSession, token: RefreshToken) -> list[str]:
        user = await session.get(User, token.user_id)
        if user is None:
            raise Unauthorized("The refresh token is not valid")
        return list(user.roles)

    async def logout(self, session: AsyncSession, refresh_token: str) -> None:
        current = await repository.refresh_token_for_update(session, token_hash(refresh_token))
        if current is not None:
            await repository.revoke_family(session, current.family_id, self.clock.now())

    # --- password recovery (rule 8) ---

    async def start_recovery(
        self, session: AsyncSession, email: str, after_response: BackgroundTasks
    ) -> None:
        """Sends a code when the e-mail is known; behaves the same (timing, 429s) when not."""
        email = email.strip().lower()
        known = bool(await repository.find_users(session, email, None))
        await self.codes.send(
            session,
            purpose=RECOVERY_PURPOSE,
            subject=email,
            channel="email",
            destination=email,
            text="Код для восстановления пароля в Kabinet: {code}. Он действует 10 минут.",
            deliver=known,
            after_response=after_response,
        )

    async def verify_recovery(
        self, session: AsyncSession, email: str, code: str
    ) -> RecoveryVerified:
        email = email.strip().lower()
        await self.codes.verify(purpose=RECOVERY_PURPOSE, subject=email, code=code)
        users = await repository.find_users(session, email, None)
        token = new_opaque_token()
        now = self.clock.now()
        session.add(
            RecoveryToken(
                token_hash=token_hash(token),
                email=email,
                expires_at=now + timedelta(seconds=self.settings.recovery_token_ttl_seconds),
            )
        )
        organizations = await repository.organizations_by_id(
            session, {u.organization_id for u in users if u.organization_id}
        )
        return RecoveryVerified(
            recovery_token=token,
            organizations=[
                OrganizationChoice(
                    id=org.id,
                    name=org.short_name or org.full_name,
                    customer_number=customer_number_text(org.customer_number),
                )
                for org in organizations.values()
            ],
        )

    async def complete_recovery(
        self,
        session: AsyncSession,
        recovery_token: str,
        organization_id: uuid.UUID | None,
        new_password: str,
    ) -> None:
        now = self.clock.now()
        record = await repository.recovery_token_for_update(session, token_hash(recovery_token))
        if record is None or record.used_at is not None or record.expires_at <= now:
            raise InvalidInput("recovery_token", "the recovery token is not valid; start again")
        check_password_rules(new_password, self.settings.password_min_length, "new_password")
        users = [
            u
            for u in await repository.find_users(session, record.email, None)
            if u.organization_id == organization_id
        ]
        if not users:
            raise InvalidInput("organization_id", "choose one of the organizations offered")
        user = users[0]
        record.used_at = now
        await self.set_password(session, user, new_password, now)

    async def set_password(
        self, session: AsyncSession, user: User, new_password: str, now: datetime
    ) -> None:
        user.password_hash = await hash_secret(new_password)
        user.password_changed_at = now
        # Every session of that user ends: whoever had the old password is out.
        await repository.revoke_user_sessions(session, user.id, now)
