"""Every query of the catalogue and the price list."""

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from services.licensing.models import PriceListItem, PriceListVersion, Product
from shared.db import Reader
from shared.pagination import PageParams, PageQuery

PRODUCTS_BY_CODE = PageQuery(select(Product.__table__), [Product.code])


class CatalogueReads:
    """The catalogue's hot reads, outside a transaction (`shared.db.Reader`): rows, not
    entities, for an answer written straight from them."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    async def page_of_products(self, params: PageParams) -> tuple[list[dict[str, Any]], str | None]:
        return await PRODUCTS_BY_CODE.page(self.reader, params)


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, row: Product | PriceListVersion | PriceListItem) -> None:
        self.session.add(row)
        await self.session.flush()

    async def products_with_codes(self, codes: Iterable[str]) -> dict[str, Product]:
        found = await self.session.scalars(select(Product).where(Product.code.in_(list(codes))))
        return {product.code: product for product in found}

    async def product_code_taken(self, code: str) -> bool:
        return bool(await self.session.scalar(select(exists().where(Product.code == code))))

    async def has_products(self) -> bool:
        return bool(await self.session.scalar(select(exists().select_from(Product))))

    async def has_versions(self) -> bool:
        return bool(await self.session.scalar(select(exists().select_from(PriceListVersion))))

    async def version_in_force(self, on: date) -> PriceListVersion | None:
        """The version with the latest `effective_from` not after `on`."""
        return await self.session.scalar(
            self._with_items()
            .where(PriceListVersion.effective_from <= on)
            .order_by(PriceListVersion.effective_from.desc())
            .limit(1)
        )

    async def version_effective_on(self, effective_from: date) -> PriceListVersion | None:
        return await self.session.scalar(
            select(PriceListVersion).where(PriceListVersion.effective_from == effective_from)
        )

    async def reload_version(self, version: PriceListVersion) -> PriceListVersion:
        """The version with its items and their products loaded (for the answer)."""
        loaded = await self.session.scalar(
            self._with_items()
            .where(PriceListVersion.id == version.id)
            .execution_options(populate_existing=True)
        )
        assert loaded is not None
        return loaded

    async def item_in_force(self, code: str, on: date) -> PriceListItem | None:
        """`code`'s item in the version in force on `on` (None: not sold on that day)."""
        in_force = (
            select(PriceListVersion.id)
            .where(PriceListVersion.effective_from <= on)
            .order_by(PriceListVersion.effective_from.desc())
            .limit(1)
            .scalar_subquery()
        )
        return await self.session.scalar(
            select(PriceListItem).where(
                PriceListItem.version_id == in_force, PriceListItem.code == code
            )
        )

    @staticmethod
    def _with_items() -> Select[PriceListVersion]:
        return select(PriceListVersion).options(
            selectinload(PriceListVersion.items).selectinload(PriceListItem.product)
        )
