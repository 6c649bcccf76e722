"""Sign-in rules: contacts and staff by login + password, accountants by INN + contract number,
rotating refresh tokens with reuse detection, lockout, password recovery."""

import uuid
from datetime import datetime, timedelta

import phonenumbers
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.identity.accounts.passwords import (
    DUMMY_HASH,
    check_password_rules,
    hash_secret,
    secret_matches,
)
from services.identity.auth.repository import SignInRepository
from services.identity.auth.schemas import OrganizationChoice, RecoveryVerified, TokenPair
from services.identity.auth.tokens import (
    active_key,
    encode_access_token,
    new_opaque_token,
    token_hash,
)
from services.identity.codes.service import code_service
from services.identity.config import Settings
from services.identity.messages.service import Outgoing
from services.identity.models import Organization, RecoveryToken, RefreshToken, User
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


class SignInService:
    # --- lockout: 5 failures for one login in 15 minutes lock it for 15 minutes ---
    #
    # Each try is written down as a failure *before* the secret is checked, in a short
    # transaction of its own serialized per account, and taken back when the secret is right:
    # concurrent wrong tries can never check more than the allowance. Neither transaction
    # overlaps the request's own session, so a request holds one pooled connection at a time.

    async def check_not_locked(
        self, session: AsyncSession, clock: Clock, settings: Settings, key: str
    ) -> None:
        now = clock.now()
        window = timedelta(minutes=settings.lockout_minutes)
        failures = await SignInRepository(session).recent_failures(key, now - 2 * window)
        n = settings.lockout_failures
        for i in range(len(failures) - n + 1):
            if failures[i] - failures[i + n - 1] <= window:
                locked_until = failures[i] + window
                if locked_until > now:
                    raise TooManyRequests(
                        "Too many failed sign-ins; try again later",
                        retry_after=int((locked_until - now).total_seconds()) + 1,
                    )
                break

    async def take_try(
        self, session: AsyncSession, clock: Clock, settings: Settings, key: str
    ) -> int:
        """Counts one try for the account `key` as a failure, unless it is locked (429).

        Returns the failure's id, for `give_back_try` when the try succeeds.
        """
        repository = SignInRepository(session)
        await repository.lock_account(key)
        await self.check_not_locked(session, clock, settings, key)
        return await repository.add_failure(key, clock.now())

    async def give_back_try(
        self, sessionmaker: async_sessionmaker[AsyncSession], try_id: int
    ) -> None:
        async with sessionmaker() as own, own.begin():
            await SignInRepository(own).remove_failure(try_id)

    # --- tokens ---

    async def issue(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        *,
        kind: str,
        user_id: uuid.UUID | None,
        organization_id: uuid.UUID | None,
        roles: list[str],
        family_id: uuid.UUID | None = None,
    ) -> TokenPair:
        now = clock.now()
        ttl = timedelta(seconds=settings.access_token_ttl_seconds)
        key = await active_key(session)
        subject = str(user_id) if user_id else f"organization:{organization_id}"
        access = encode_access_token(
            key,
            issuer=settings.jwt_issuer,
            subject=subject,
            kind=kind,
            organization_id=organization_id,
            user_id=user_id,
            roles=roles,
            now=now,
            ttl=ttl,
        )
        refresh = new_opaque_token()
        await SignInRepository(session).add_refresh_token(
            RefreshToken(
                family_id=family_id or uuid.uuid4(),
                token_hash=token_hash(refresh),
                user_id=user_id,
                organization_id=organization_id,
                role=kind,
                created_at=now,
                expires_at=now + timedelta(days=settings.refresh_token_ttl_days),
            )
        )
        return TokenPair(
            access_token=access, refresh_token=refresh, expires_in=int(ttl.total_seconds())
        )

    async def login(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        login: str,
        password: str,
        organization_id: uuid.UUID | None,
    ) -> TokenPair:
        email, phone = parse_login(login)
        async with sessionmaker() as own, own.begin():
            try_id = await self.take_try(own, clock, settings, login_key(login))
            candidates = (
                await SignInRepository(own).users_with_login(email, phone) if email or phone else []
            )
        # The passwords are checked holding no database connection.
        if organization_id is not None:
            candidates = [u for u in candidates if u.organization_id == organization_id]
        matching = [u for u in candidates if await secret_matches(u.password_hash, password)]
        if not candidates:
            await secret_matches(DUMMY_HASH, password)  # same time for an unknown login
        if not matching:
            raise Unauthorized(WRONG_CREDENTIALS)
        await self.give_back_try(sessionmaker, try_id)
        repository = SignInRepository(session)
        if len(matching) > 1:
            organizations = await repository.organizations_by_id(
                {u.organization_id for u in matching if u.organization_id}
            )
            raise ChooseOrganization(
                "This login belongs to several organizations; repeat with organization_id",
                organizations=[
                    _choice(org).model_dump(mode="json") for org in organizations.values()
                ],
            )
        user = matching[0]
        return await self.issue(
            session,
            clock,
            settings,
            kind="user",
            user_id=user.id,
            organization_id=organization_seen_by(user),
            roles=list(user.roles),
        )

    async def login_accountant(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        inn: str,
        number: str,
    ) -> TokenPair:
        async with sessionmaker() as own, own.begin():
            try_id = await self.take_try(own, clock, settings, accountant_key(inn))
            repository = SignInRepository(own)
            organization_id = await repository.contract_organization(inn.strip(), number.strip())
            if organization_id is not None:
                await repository.remove_failure(try_id)
        if organization_id is None:
            raise Unauthorized("The INN or the contract number is wrong")
        return await self.issue(
            session,
            clock,
            settings,
            kind="accountant",
            user_id=None,
            organization_id=organization_id,
            roles=["accountant"],
        )

    async def refresh(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        refresh_token: str,
    ) -> TokenPair:
        now = clock.now()
        repository = SignInRepository(session)
        current = await repository.refresh_token_for_update(token_hash(refresh_token))
        if current is None or current.revoked_at is not None or current.expires_at <= now:
            raise Unauthorized("The refresh token is not valid")
        if current.used_at is not None:
            # A spent token came back: someone holds a copy. End the whole family, in its own
            # transaction (this request fails), after letting go of the row lock taken above.
            family_id = current.family_id
            await session.rollback()
            async with sessionmaker() as own, own.begin():
                await SignInRepository(own).revoke_family(family_id, now)
            raise Unauthorized("The refresh token was already used; sign in again")
        current.used_at = now
        organization_id, roles = current.organization_id, ["accountant"]
        if current.role != "accountant":
            # A person's organization and roles as they are now: a membership approved since
            # the last refresh opens the organization, one still pending keeps it closed.
            user = await repository.user(current.user_id)
            if user is None:
                raise Unauthorized("The refresh token is not valid")
            organization_id, roles = organization_seen_by(user), list(user.roles)
        return await self.issue(
            session,
            clock,
            settings,
            kind=current.role,
            user_id=current.user_id,
            organization_id=organization_id,
            roles=roles,
            family_id=current.family_id,
        )

    async def logout(self, session: AsyncSession, clock: Clock, refresh_token: str) -> None:
        repository = SignInRepository(session)
        current = await repository.refresh_token_for_update(token_hash(refresh_token))
        if current is not None:
            await repository.revoke_family(current.family_id, clock.now())

    # --- password recovery (rule 8) ---

    async def start_recovery(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        outgoing: Outgoing,
        email: str,
    ) -> None:
        """Sends a code when the e-mail is known; behaves the same (timing, 429s) when not:
        the code is recorded either way, and sending waits until the answer has gone out."""
        email = email.strip().lower()
        known = bool(await SignInRepository(session).users_with_login(email, None))
        await code_service.send(
            session,
            clock,
            settings,
            outgoing,
            purpose=RECOVERY_PURPOSE,
            subject=email,
            channel="email",
            destination=email,
            text="Код для восстановления пароля в Kabinet: {code}. Он действует 10 минут.",
            deliver=known,
        )

    async def verify_recovery(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        email: str,
        code: str,
    ) -> RecoveryVerified:
        email = email.strip().lower()
        await code_service.verify(
            sessionmaker, clock, settings, purpose=RECOVERY_PURPOSE, subject=email, code=code
        )
        repository = SignInRepository(session)
        users = await repository.users_with_login(email, None)
        token = new_opaque_token()
        now = clock.now()
        await repository.add_recovery_token(
            RecoveryToken(
                token_hash=token_hash(token),
                email=email,
                expires_at=now + timedelta(seconds=settings.recovery_token_ttl_seconds),
            )
        )
        organizations = await repository.organizations_by_id(
            {u.organization_id for u in users if u.organization_id}
        )
        return RecoveryVerified(
            recovery_token=token, organizations=[_choice(org) for org in organizations.values()]
        )

    async def complete_recovery(
        self,
        session: AsyncSession,
        clock: Clock,
        settings: Settings,
        recovery_token: str,
        organization_id: uuid.UUID | None,
        new_password: str,
    ) -> None:
        now = clock.now()
        repository = SignInRepository(session)
        record = await repository.recovery_token_for_update(token_hash(recovery_token))
        if record is None or record.used_at is not None or record.expires_at <= now:
            raise InvalidInput("recovery_token", "the recovery token is not valid; start again")
        check_password_rules(new_password, settings.password_min_length, "new_password")
        users = [
            u
            for u in await repository.users_with_login(record.email, None)
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
        await SignInRepository(session).revoke_user_sessions(user.id, now)


def organization_seen_by(user: User) -> uuid.UUID | None:
    """The organization a person's session carries: none until its membership is approved
    (rule 3), so no service shows a pending or declined contact anything of it."""
    return user.organization_id if user.membership == "active" else None


def _choice(org: Organization) -> OrganizationChoice:
    return OrganizationChoice(
        id=org.id,
        name=org.short_name or org.full_name,
        customer_number=customer_number_text(org.customer_number),
    )


sign_in_service = SignInService()
