"""A partner's customers: the organizations that hold a contract or a license the partner
imported, or a support certificate it issued (`partner_id` on the row).

Helpdesk and dongle let a partner act only for its customers, and learn who they are from
`licensing.partner.customer_linked`, published once per pair in the transaction that gives
the organization its first document of that partner. Links made before they were kept are
found and published at start (`link_earlier_customers`).
"""

import uuid
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.partners.repository import PartnerRepository
from shared.bus.outbox import Outbox
from shared.db import hold_advisory_lock
from shared.events.licensing import PartnerCustomerLinked, PartnerLinkSource
from shared.service import Runtime


class PartnerService:
    async def link(
        self,
        session: AsyncSession,
        outbox: Outbox,
        partner_id: uuid.UUID | None,
        organization_id: uuid.UUID,
        source: PartnerLinkSource,
        source_id: uuid.UUID,
        at: datetime,
    ) -> None:
        """The organization received a document of `source`; if a partner imported or issued
        it, the organization is that partner's customer from now on (stated once)."""
        if partner_id is None or partner_id == organization_id:
            return  # the vendor's document, or the partner's own
        made = await PartnerRepository(session).add_link(
            partner_id, organization_id, source, source_id, at
        )
        if made:
            await outbox.add(
                session,
                PartnerCustomerLinked(
                    partner_id=partner_id,
                    organization_id=organization_id,
                    source=source,
                    source_id=source_id,
                    linked_at=at,
                ),
            )

    async def link_earlier(self, session: AsyncSession, outbox: Outbox, at: datetime) -> int:
        """Links for documents that reached their organization before links were kept."""
        found = await PartnerRepository(session).unlinked()
        for partner_id, organization_id, source, source_id in found:
            await self.link(session, outbox, partner_id, organization_id, source, source_id, at)
        return len(found)


partner_service = PartnerService()


async def link_earlier_customers(runtime: Runtime) -> None:
    """Start-up step: publish the links of documents older than the link table."""
    async with runtime.sessionmaker() as session, session.begin():
        await hold_advisory_lock(session, "licensing:partner-customers")
        await partner_service.link_earlier(session, runtime.outbox, runtime.clock.now())
