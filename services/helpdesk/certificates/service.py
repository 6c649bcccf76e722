"""Support certificates as helpdesk knows them (rule 2): only from licensing's events.

A certificate on a ticket must belong to the ticket's organization (or to the partner opening
it), be active now, and cover the ticket's product; each refusal names its reason.
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.helpdesk.certificates.repository import (
    CertificateRepository,
    OrganizationRepository,
    PersonRepository,
    ProtectionRepository,
)
from services.helpdesk.models import SupportCertificate
from shared.bus.envelope import Envelope
from shared.events.dongle import (
    ProtectionActivated,
    ProtectionCancelled,
    ProtectionLapsed,
    ProtectionResumed,
)
from shared.events.identity import (
    OrganizationRegistered,
    OrganizationUpdated,
    UserRegistered,
    UserUpdated,
)
from shared.events.licensing import SupportExpired, SupportRegistered, SupportRenewed
from shared.problems import InvalidInput

SupportEvent = SupportRegistered | SupportRenewed | SupportExpired


class CertificateService:
    async def apply(self, session: AsyncSession, event: SupportEvent, envelope: Envelope) -> None:
        """The certificate as the event states it; an event older than the last one applied
        (out-of-order delivery) changes nothing."""
        values: dict[str, object] = {
            "id": event.certificate_id,
            "number": event.number,
            "tier": event.tier,
            "organization_id": event.organization_id,
            "products": list(event.products),
            "key_serials": list(event.key_serials),
            "last_event_at": envelope.occurred_at,
        }
        if isinstance(event, SupportExpired):
            # An expiry carries no start: the one known, if any, is kept.
            values.update(status="expired", ends_at=event.ended_at)
        else:
            values.update(status="active", starts_at=event.starts_at, ends_at=event.ends_at)
        await CertificateRepository(session).apply(values)

    async def for_ticket(
        self,
        session: AsyncSession,
        now: datetime,
        number: str,
        organization_ids: set[uuid.UUID],
        product_code: str,
    ) -> SupportCertificate:
        """The certificate a ticket may carry, or a 422 on `certificate_number` saying why."""
        candidates = await CertificateRepository(session).by_number(number)
        owned = [c for c in candidates if c.organization_id in organization_ids]
        if not owned:
            # An unknown number and another organization's number read the same: no probing.
            raise InvalidInput(
                "certificate_number",
                "no support certificate with this number is registered "
                "to the ticket's organization",
            )
        active = [c for c in owned if _is_active(c, now)]
        if not active:
            raise InvalidInput("certificate_number", "the support certificate is not active")
        covering = [c for c in active if product_code in c.products]
        if not covering:
            raise InvalidInput(
                "certificate_number",
                f"the support certificate does not cover the product {product_code!r}",
            )
        return covering[0]


def _is_active(certificate: SupportCertificate, now: datetime) -> bool:
    if certificate.status != "active" or certificate.ends_at is None:
        return False
    started = certificate.starts_at is None or certificate.starts_at <= now
    return started and now < certificate.ends_at


class PersonService:
    async def apply(
        self, session: AsyncSession, event: UserRegistered | UserUpdated, envelope: Envelope
    ) -> None:
        await PersonRepository(session).apply(
            {
                "id": event.user_id,
                "organization_id": event.organization_id,
                "email": event.email,
                "full_name": event.full_name,
                "last_event_at": envelope.occurred_at,
            }
        )


class OrganizationService:
    async def apply(
        self,
        session: AsyncSession,
        event: OrganizationRegistered | OrganizationUpdated,
        envelope: Envelope,
    ) -> None:
        """The organization's short name, as the newest event states it."""
        await OrganizationRepository(session).apply(
            {"id": event.organization_id, "name": event.name, "last_event_at": envelope.occurred_at}
        )


ProtectionEvent = ProtectionActivated | ProtectionLapsed | ProtectionResumed | ProtectionCancelled


class ProtectionService:
    async def apply(
        self, session: AsyncSession, event: ProtectionEvent, envelope: Envelope
    ) -> None:
        """The subscription's state as the newest event states it."""
        await ProtectionRepository(session).apply(
            {
                "id": event.subscription_id,
                "organization_id": event.organization_id,
                "key_serial": event.key_serial,
                "status": event.status,
                "reason": event.reason,
                "resumable_until": (
                    event.resumable_until if isinstance(event, ProtectionLapsed) else None
                ),
                "last_event_at": envelope.occurred_at,
            }
        )


certificate_service = CertificateService()
person_service = PersonService()
organization_service = OrganizationService()
protection_service = ProtectionService()
