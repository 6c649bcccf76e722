"""Every query of support certificates and of the acts that renew them."""

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.licensing.models import Act, ActRenewal, Contract, License, SupportCertificate
from services.licensing.sweeps import claim_due


class CertificateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: SupportCertificate | ActRenewal) -> None:
        self.session.add(row)
        await self.session.flush()

    async def by_number(self, number: str) -> SupportCertificate | None:
        return await self.session.scalar(
            select(SupportCertificate)
            .where(SupportCertificate.number == number)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def of_organization(self, organization_id: uuid.UUID) -> Sequence[SupportCertificate]:
        return (
            await self.session.scalars(
                select(SupportCertificate)
                .where(SupportCertificate.organization_id == organization_id)
                .order_by(SupportCertificate.ends_at.desc(), SupportCertificate.id)
            )
        ).all()

    async def latest_paid(self, organization_id: uuid.UUID) -> SupportCertificate | None:
        """The organization's paid certificate that ends last, locked for its renewal."""
        return await self.session.scalar(
            select(SupportCertificate)
            .where(
                SupportCertificate.organization_id == organization_id,
                SupportCertificate.tier == "paid",
            )
            .order_by(SupportCertificate.ends_at.desc())
            .limit(1)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def act(self, number: str) -> tuple[Act, Contract] | None:
        row = (
            await self.session.execute(
                select(Act, Contract)
                .join(Act.contract)
                .where(Act.number == number)
                .options(selectinload(Act.items))
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def act_used(self, act_id: uuid.UUID) -> bool:
        return (
            await self.session.scalar(select(ActRenewal.id).where(ActRenewal.act_id == act_id))
        ) is not None

    async def coverage(self, organization_id: uuid.UUID) -> tuple[list[str], list[str]]:
        """The product codes and key serials of the organization's licenses."""
        rows = (
            await self.session.execute(
                select(License)
                .where(License.organization_id == organization_id)
                .order_by(License.id)
            )
        ).scalars()
        products: dict[str, None] = {}
        keys: dict[str, None] = {}
        for license_ in rows:
            products[license_.product.code] = None
            if license_.key_serial:
                keys[license_.key_serial] = None
        return list(products), list(keys)

    async def end_passed(self, now: datetime, limit: int) -> list[SupportCertificate]:
        """Marks up to `limit` certificates whose end passed ended, each once (`claim_due`);
        those certificates."""
        return await claim_due(
            self.session,
            SupportCertificate.id,
            pending=SupportCertificate.status == "active",
            due=SupportCertificate.ends_at <= now,
            order_by=(SupportCertificate.ends_at, SupportCertificate.id),
            values={"status": "ended"},
            limit=limit,
        )
