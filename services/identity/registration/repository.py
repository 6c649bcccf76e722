"""Queries of registration: pending registrations, the organizations they join or create."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.identity.models import OneTimeCode, Organization, PendingRegistration, User
from shared.db import hold_advisory_lock


class RegistrationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Organization | User | PendingRegistration) -> None:
        self.session.add(row)
        await self.session.flush()

    async def get_pending(
        self, registration_id: uuid.UUID, *, for_update: bool = False
    ) -> PendingRegistration | None:
        query = select(PendingRegistration).where(PendingRegistration.id == registration_id)
        if for_update:
            # Both channels verified at the same moment must complete the registration once.
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def get_organization(self, organization_id: uuid.UUID) -> Organization | None:
        return await self.session.get(Organization, organization_id)

    async def organizations_with_inn(self, inn: str, kpp: str | None) -> Sequence[Organization]:
        query = select(Organization).where(Organization.resident.is_(True), Organization.inn == inn)
        query = query.where(Organization.kpp.is_(None) if kpp is None else Organization.kpp == kpp)
        return (await self.session.scalars(query.order_by(Organization.customer_number))).all()

    async def organizations_with_tax_id(self, country: str, tax_id: str) -> Sequence[Organization]:
        query = select(Organization).where(
            Organization.resident.is_(False),
            Organization.country == country,
            Organization.tax_id == tax_id,
        )
        return (await self.session.scalars(query.order_by(Organization.customer_number))).all()

    async def get_user(self, user_id: uuid.UUID | None) -> User | None:
        return await self.session.get(User, user_id) if user_id is not None else None

    async def lock(self, name: str) -> None:
        """Holds a transaction-level advisory lock on `name` until the request commits."""
        await hold_advisory_lock(self.session, name)

    async def contact_exists(self, organization_id: uuid.UUID, email: str) -> bool:
        found = await self.session.scalar(
            select(User.id).where(User.organization_id == organization_id, User.email == email)
        )
        return found is not None

    async def delete_expired(self, now: datetime) -> Sequence[uuid.UUID]:
        """Drops registrations past their time; their ids."""
        return (
            await self.session.scalars(
                delete(PendingRegistration)
                .where(PendingRegistration.expires_at <= now)
                .returning(PendingRegistration.id)
            )
        ).all()

    async def delete_codes(self, purpose: str, subjects: Sequence[str]) -> None:
        await self.session.execute(
            delete(OneTimeCode).where(
                OneTimeCode.purpose == purpose, OneTimeCode.subject.in_(subjects)
            )
        )
