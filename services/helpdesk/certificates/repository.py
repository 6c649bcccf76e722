"""Every query of helpdesk's support-certificate and people read models."""

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.models import Person, SupportCertificate


class CertificateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        """Writes the certificate as the event has it, unless a newer event was applied."""
        statement = insert(SupportCertificate).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[SupportCertificate.id],
                set_={key: statement.excluded[key] for key in values if key != "id"},
                # Out-of-order delivery: an event older than the one applied changes nothing.
                where=SupportCertificate.last_event_at < statement.excluded.last_event_at,
            )
        )

    async def by_number(self, number: str) -> list[SupportCertificate]:
        rows = await self.session.scalars(
            select(SupportCertificate).where(SupportCertificate.number == number)
        )
        return list(rows)

    async def get(self, certificate_id: uuid.UUID) -> SupportCertificate | None:
        return await self.session.get(SupportCertificate, certificate_id)

    async def knows_organization(self, organization_id: uuid.UUID) -> bool:
        found = await self.session.scalar(
            select(SupportCertificate.id)
            .where(SupportCertificate.organization_id == organization_id)
            .limit(1)
        )
        if found is not None:
            return True
        return (
            await self.session.scalar(
                select(Person.id).where(Person.organization_id == organization_id).limit(1)
            )
        ) is not None


class PersonRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def apply(self, values: dict[str, Any]) -> None:
        statement = insert(Person).values(**values)
        await self.session.execute(
            statement.on_conflict_do_update(
                index_elements=[Person.id],
                set_={key: statement.excluded[key] for key in values if key != "id"},
                where=Person.last_event_at < statement.excluded.last_event_at,
            )
        )

    async def get(self, person_id: uuid.UUID) -> Person | None:
        return await self.session.get(Person, person_id)

    async def many(self, ids: set[uuid.UUID]) -> dict[uuid.UUID, Person]:
        if not ids:
            return {}
        rows = await self.session.scalars(select(Person).where(Person.id.in_(ids)))
        return {row.id: row for row in rows}
