"""Every query of the partner ↔ customer link."""

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import and_, exists, literal, select, union_all
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.licensing.models import Contract, License, PartnerCustomer, SupportCertificate
from shared.events.licensing import PartnerLinkSource

# Where a partner's documents live, in the order a link is credited to them.
SOURCES: tuple[tuple[PartnerLinkSource, Any], ...] = (
    ("contract", Contract),
    ("license", License),
    ("support_certificate", SupportCertificate),
)


class PartnerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_link(
        self,
        partner_id: uuid.UUID,
        organization_id: uuid.UUID,
        source: PartnerLinkSource,
        source_id: uuid.UUID,
        at: datetime,
    ) -> bool:
        """The link, unless the pair is linked already; True when this call made it (the
        primary key decides, also between concurrent transactions)."""
        made = await self.session.scalar(
            insert(PartnerCustomer)
            .values(
                partner_id=partner_id,
                organization_id=organization_id,
                source=source,
                source_id=source_id,
                linked_at=at,
            )
            .on_conflict_do_nothing(index_elements=["partner_id", "organization_id"])
            .returning(PartnerCustomer.partner_id)
        )
        return made is not None

    async def unlinked(self) -> list[tuple[uuid.UUID, uuid.UUID, PartnerLinkSource, uuid.UUID]]:
        """(partner, organization, source, source id) of documents whose pair has no link yet:
        those made before links were kept."""
        parts = [
            select(
                model.partner_id,
                model.organization_id,
                literal(source).label("source"),
                model.id,
            ).where(
                model.partner_id.is_not(None),
                model.organization_id.is_not(None),
                model.partner_id != model.organization_id,
                ~exists().where(
                    and_(
                        PartnerCustomer.partner_id == model.partner_id,
                        PartnerCustomer.organization_id == model.organization_id,
                    )
                ),
            )
            for source, model in SOURCES
        ]
        rows = await self.session.execute(union_all(*parts))
        return [(row[0], row[1], cast(PartnerLinkSource, row[2]), row[3]) for row in rows]
