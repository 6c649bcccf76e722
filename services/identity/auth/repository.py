"""Every query the sign-in rules need."""

import uuid
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import (
    ContractLink,
    Organization,
    RecoveryToken,
    RefreshToken,
    SignInFailure,
    SigningKey,
    User,
)
from shared.db import advisory_key


class SignInRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def users_with_login(self, email: str | None, phone: str | None) -> list[User]:
        """Everyone signing in with this e-mail (or, without one, this phone), oldest first."""
        query = select(User).where(
            User.email == email if email is not None else User.phone == phone
        )
        return list((await self.session.scalars(query.order_by(User.id))).all())

    async def organizations_by_id(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Organization]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Organization).where(Organization.id.in_(ids)))
        return {org.id: org for org in rows}

    async def user(self, user_id: uuid.UUID | None) -> User | None:
        return await self.session.get(User, user_id) if user_id is not None else None

    async def recent_failures(self, login_key: str, since: datetime) -> list[datetime]:
        rows = await self.session.scalars(
            select(SignInFailure.failed_at)
            .where(SignInFailure.login_key == login_key, SignInFailure.failed_at > since)
            .order_by(SignInFailure.failed_at.desc())
        )
        return list(rows.all())

    async def lock_account(self, login_key: str) -> None:
        """Serializes the tries of one account until this transaction ends."""
        await self.session.execute(
            select(func.pg_advisory_xact_lock(advisory_key(f"sign-in:{login_key}")))
        )

    async def add_failure(self, login_key: str, failed_at: datetime) -> int:
        failure = SignInFailure(login_key=login_key, failed_at=failed_at)
        self.session.add(failure)
        await self.session.flush()
        return failure.id

    async def remove_failure(self, failure_id: int) -> None:
        await self.session.execute(delete(SignInFailure).where(SignInFailure.id == failure_id))

    async def link_contract(self, link: ContractLink) -> None:
        """Keeps the contract's latest number, organization and licensee INN."""
        statement = insert(ContractLink).values(
            contract_id=link.contract_id,
            number=link.number,
            organization_id=link.organization_id,
            licensee_inn=link.licensee_inn,
            attached_at=link.attached_at,
        )
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[ContractLink.contract_id],
                set_={
                    "number": statement.excluded.number,
                    "organization_id": statement.excluded.organization_id,
                    "licensee_inn": statement.excluded.licensee_inn,
                },
            )
        )

    async def contract_organization(self, inn: str, contract_number: str) -> uuid.UUID | None:
        return await self.session.scalar(
            select(ContractLink.organization_id)
            .where(ContractLink.licensee_inn == inn, ContractLink.number == contract_number)
            .limit(1)
        )

    async def add_refresh_token(self, token: RefreshToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def refresh_token_for_update(self, hashed: str) -> RefreshToken | None:
        return await self.session.scalar(
            select(RefreshToken).where(RefreshToken.token_hash == hashed).with_for_update()
        )

    async def revoke_family(self, family_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def revoke_user_sessions(self, user_id: uuid.UUID, now: datetime) -> None:
        await self.session.execute(
            update(RefreshToken)
            .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    async def add_recovery_token(self, token: RecoveryToken) -> None:
        self.session.add(token)
        await self.session.flush()

    async def recovery_token_for_update(self, hashed: str) -> RecoveryToken | None:
        return await self.session.scalar(
            select(RecoveryToken).where(RecoveryToken.token_hash == hashed).with_for_update()
        )


class SigningKeyRepository:
    """The token-signing keys shared by every replica through the database."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> list[SigningKey]:
        return list(
            await self.session.scalars(select(SigningKey).where(SigningKey.retired_at.is_(None)))
        )

    async def newest_active(self) -> SigningKey | None:
        return await self.session.scalar(
            select(SigningKey)
            .where(SigningKey.retired_at.is_(None))
            .order_by(SigningKey.created_at.desc())
            .limit(1)
        )

    async def active_or_retired_since(self, since: datetime) -> list[SigningKey]:
        """The keys whose tokens may still be alive: the active one and those retired since."""
        return list(
            await self.session.scalars(
                select(SigningKey).where(
                    SigningKey.retired_at.is_(None) | (SigningKey.retired_at > since)
                )
            )
        )

    async def add(self, key: SigningKey) -> None:
        self.session.add(key)
        await self.session.flush()
