"""Every query of contracts, acts and documents."""

import uuid
from collections.abc import Iterable, Sequence

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.licensing.access import Viewer
from services.licensing.models import Act, Contract, Document
from shared.pagination import PageParams, paginate


def _whole() -> tuple[object, ...]:
    return (
        selectinload(Contract.licenses),
        selectinload(Contract.acts),
        selectinload(Contract.documents),
    )


class ContractRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, contract: Contract) -> None:
        self.session.add(contract)
        await self.session.flush()

    async def number_taken(self, number: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Contract.number == number))))

    async def act_numbers_taken(self, numbers: Iterable[str]) -> set[str]:
        found = await self.session.scalars(select(Act.number).where(Act.number.in_(list(numbers))))
        return set(found)

    async def get(self, contract_id: uuid.UUID) -> Contract | None:
        return await self.session.scalar(
            select(Contract)
            .where(Contract.id == contract_id)
            .options(*_whole())  # type: ignore[arg-type]
            .execution_options(populate_existing=True)
        )

    async def by_numbers(
        self, numbers: Iterable[str], *, for_update: bool = False
    ) -> list[Contract]:
        statement = (
            select(Contract)
            .where(Contract.number.in_(list(numbers)))
            .options(*_whole())  # type: ignore[arg-type]
            .order_by(Contract.number)
        )
        if for_update:
            statement = statement.with_for_update(of=Contract)
        return list(await self.session.scalars(statement))

    async def page_for(
        self, viewer: Viewer, params: PageParams
    ) -> tuple[list[Contract], str | None]:
        statement = (
            select(Contract)
            .where(viewer.sees(Contract.organization_id, Contract.partner_id))
            .options(*_whole())  # type: ignore[arg-type]
        )
        return await paginate(self.session, statement, [Contract.id], params)

    async def acts_for(self, viewer: Viewer, params: PageParams) -> tuple[list[Act], str | None]:
        statement = (
            select(Act)
            .join(Act.contract)
            .where(viewer.sees(Contract.organization_id, Contract.partner_id))
        )
        return await paginate(self.session, statement, [Act.id], params)

    async def document(self, document_id: uuid.UUID) -> tuple[Document, Contract] | None:
        row = (
            await self.session.execute(
                select(Document, Contract).join(Document.contract).where(Document.id == document_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def acts_of_organization(self, organization_id: uuid.UUID) -> Sequence[Act]:
        return (
            await self.session.scalars(
                select(Act).join(Act.contract).where(Contract.organization_id == organization_id)
            )
        ).all()
