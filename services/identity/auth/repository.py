"""Every query the sign-in rules need."""

import uuid
from datetime import datetime

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import (
    ContractLink,
    Organization,
    RecoveryToken,
    RefreshToken,
    SignInFailure,
    User,
)
from shared.db import advisory_key


def users_by_login(email: str | None, phone: str | None) -> Select[User]:
    if email is not None:
        return select(User).where(User.email == email)
    return select(User).where(User.phone == phone)


async def find_users(session: AsyncSession, email: str | None, phone: str | None) -> list[User]:
    return list((await session.scalars(users_by_login(email, phone).order_by(User.id))).all())


async def organizations_by_id(
    session: AsyncSession, ids: set[uuid.UUID]
) -> dict[uuid.UUID, Organization]:
    if not ids:
        return {}
    rows = await session.scalars(select(Organization).where(Organization.id.in_(ids)))
    return {org.id: org for org in rows}


async def recent_failures(session: AsyncSession, login_key: str, since: datetime) -> list[datetime]:
    rows = await session.scalars(
        select(SignInFailure.failed_at)
        .where(SignInFailure.login_key == login_key, SignInFailure.failed_at > since)
        .order_by(SignInFailure.failed_at.desc())
    )
    return list(rows.all())


async def lock_account(session: AsyncSession, login_key: str) -> None:
    """Serializes the tries of one account until this transaction ends."""
    await session.execute(select(func.pg_advisory_xact_lock(advisory_key(f"sign-in:{login_key}"))))


async def add_failure(session: AsyncSession, login_key: str, failed_at: datetime) -> int:
    failure = SignInFailure(login_key=login_key, failed_at=failed_at)
    session.add(failure)
    await session.flush()
    return failure.id


async def remove_failure(session: AsyncSession, failure_id: int) -> None:
    await session.execute(delete(SignInFailure).where(SignInFailure.id == failure_id))


async def contract_organization(
    session: AsyncSession, inn: str, contract_number: str
) -> uuid.UUID | None:
    return await session.scalar(
        select(ContractLink.organization_id)
        .where(ContractLink.licensee_inn == inn, ContractLink.number == contract_number)
        .limit(1)
    )


async def refresh_token_for_update(session: AsyncSession, hashed: str) -> RefreshToken | None:
    return await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == hashed).with_for_update()
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_user_sessions(session: AsyncSession, user_id: uuid.UUID, now: datetime) -> None:
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def recovery_token_for_update(session: AsyncSession, hashed: str) -> RecoveryToken | None:
    return await session.scalar(
        select(RecoveryToken).where(RecoveryToken.token_hash == hashed).with_for_update()
    )
