"""The organization read model: what licensing knows of identity's organizations.

identity owns organizations; licensing keeps the requisites it needs from
`identity.organization.registered` / `.updated` (residency for prices, INN and name for
contracts). Events may arrive twice or out of order: each carries the organization's current
requisites, so the newest event (by the time it happened) wins and an older one changes nothing.
Contacts' e-mail addresses are kept the same way (`identity.user.registered` / `.updated`): an
upload request from the contract's own e-mail is approved without an admin (rule 3).
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.models import Organization
from services.licensing.organizations.repository import OrganizationRepository
from shared.events.identity import (
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.problems import NotFound


class OrganizationReadModel:
    async def registered(
        self, session: AsyncSession, event: OrganizationRegistered, occurred_at: datetime
    ) -> None:
        await OrganizationRepository(session).merge(
            {
                "id": event.organization_id,
                "customer_number": event.customer_number,
                **self._requisites(event),
                "as_of": occurred_at,
            }
        )

    async def updated(
        self, session: AsyncSession, event: OrganizationUpdated, occurred_at: datetime
    ) -> None:
        await OrganizationRepository(session).merge(
            {"id": event.organization_id, **self._requisites(event), "as_of": occurred_at}
        )

    async def user_registered(
        self, session: AsyncSession, event: UserRegistered | UserUpdated, occurred_at: datetime
    ) -> None:
        await OrganizationRepository(session).merge_user(
            {
                "id": event.user_id,
                "organization_id": event.organization_id,
                "email": event.email.strip().lower(),
                "as_of": occurred_at,
            }
        )

    async def email_of(self, session: AsyncSession, user_id: uuid.UUID) -> str | None:
        user = await OrganizationRepository(session).user(user_id)
        return user.email if user is not None else None

    async def find(self, session: AsyncSession, organization_id: uuid.UUID) -> Organization | None:
        return await OrganizationRepository(session).get(organization_id)

    async def only_one_with_inn(self, session: AsyncSession, inn: str) -> uuid.UUID | None:
        """The organization with this INN, when exactly one is known (subdivisions share it)."""
        found = await OrganizationRepository(session).with_inn(inn)
        return found[0].id if len(found) == 1 else None

    async def get(self, session: AsyncSession, organization_id: uuid.UUID) -> Organization:
        """The organization, or 404: licensing has not heard of it (yet)."""
        organization = await OrganizationRepository(session).get(organization_id)
        if organization is None:
            raise NotFound("The organization is not known to licensing yet")
        return organization

    @staticmethod
    def _requisites(event: OrganizationRegistered | OrganizationUpdated) -> dict[str, object]:
        return {
            "name": event.name,
            "full_name": event.full_name,
            "country": event.country,
            "resident": event.resident,
            "inn": event.inn,
            "kpp": event.kpp,
            "foreign_tax_id": event.foreign_tax_id,
        }


organization_read_model = OrganizationReadModel()
