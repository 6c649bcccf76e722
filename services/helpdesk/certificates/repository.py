"""Every query of helpdesk's read models: support certificates, people, organizations, key
protection subscriptions."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import (
    Organization,
    Person,
    ProtectionSubscription,
    SupportCertificate,
)
from shared.db import apply_newer


class CertificateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        await apply_newer(self.session, SupportCertificate, values)

    async def by_number(self, number: str) -> list[SupportCertificate]:
        rows = await self.session.scalars(
            select(SupportCertificate).where(SupportCertificate.number == number)
        )
        return list(rows)

    async def get(self, certificate_id: uuid.UUID) -> SupportCertificate | None:
        return await self.session.get(SupportCertificate, certificate_id)


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        await apply_newer(self.session, Person, values)

    async def get(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def of_organization(self, organization_id: uuid.UUID) -> list[Person]:
        rows = await self.session.scalars(
            select(Person).where(Person.organization_id == organization_id).order_by(Person.id)
        )
        return list(rows)

    async def many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Person]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Person).where(Person.id.in_(ids)))
        return {row.id: row for row in rows}


class OrganizationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        await apply_newer(self.session, Organization, values)

    async def names(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
        if not ids:
            return {}
        rows = await self.session.execute(
            select(Organization.id, Organization.name).where(Organization.id.in_(ids))
        )
        return {organization_id: name for organization_id, name in rows}


class ProtectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        await apply_newer(self.session, ProtectionSubscription, values)

    async def of_organization(self, organization_id: uuid.UUID) -> list[ProtectionSubscription]:
        rows = await self.session.scalars(
            select(ProtectionSubscription)
            .where(ProtectionSubscription.organization_id == organization_id)
            .order_by(ProtectionSubscription.key_serial, ProtectionSubscription.id)
        )
        return list(rows)
