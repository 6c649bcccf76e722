"""Queries of the autofill directories: banks, postal codes, company registry entries."""

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import String, all_, delete, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from services.identity.models import Bank, PostalCode, RegistryEntry

# asyncpg allows 32767 bind parameters per statement; a chunk stays well below.
_CHUNK = 1000


def _chunks(rows: Sequence[dict[str, Any]]) -> Iterable[Sequence[dict[str, Any]]]:
    for start in range(0, len(rows), _CHUNK):
        yield rows[start : start + _CHUNK]


class DirectoryRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_bank(self, bik: str) -> Bank | None:
        return await self.session.get(Bank, bik)

    async def get_postal_code(self, index: str) -> PostalCode | None:
        return await self.session.get(PostalCode, index)

    async def regions_by_postal_code(self, indexes: Iterable[str]) -> dict[str, str]:
        wanted = sorted(set(indexes))
        if not wanted:
            return {}
        rows = await self.session.execute(
            select(PostalCode.index, PostalCode.region).where(
                PostalCode.index == func.any(literal(wanted, ARRAY(String())))
            )
        )
        return {index: region for index, region in rows if region}

    async def find_registry_entry(self, inn: str, kpp: str | None) -> RegistryEntry | None:
        query = select(RegistryEntry).where(RegistryEntry.inn == inn)
        if kpp is not None:
            query = query.where(RegistryEntry.kpp == kpp)
        return await self.session.scalar(query.order_by(RegistryEntry.id).limit(1))

    async def count_banks(self) -> int:
        return await self._count(Bank.bik)

    async def count_postal_codes(self) -> int:
        return await self._count(PostalCode.index)

    async def count_registry_entries(self) -> int:
        return await self._count(RegistryEntry.id)

    async def _count(self, column: InstrumentedAttribute[Any]) -> int:
        return int(await self.session.scalar(select(func.count(column))) or 0)

    async def replace_banks(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._replace_by_key(Bank, Bank.bik, "bik", rows)

    async def replace_postal_codes(self, rows: Sequence[dict[str, Any]]) -> None:
        await self._replace_by_key(PostalCode, PostalCode.index, "index", rows)

    async def replace_registry_entries(self, rows: Sequence[dict[str, Any]], now: datetime) -> None:
        # Registry records have no natural key (branches share an INN): the file replaces all.
        await self.session.execute(delete(RegistryEntry))
        for chunk in _chunks(rows):
            await self.session.execute(
                pg_insert(RegistryEntry).values([{**row, "imported_at": now} for row in chunk])
            )

    async def _replace_by_key(
        self,
        model: type[Bank] | type[PostalCode],
        key: InstrumentedAttribute[str],
        key_name: str,
        rows: Sequence[dict[str, Any]],
    ) -> None:
        """Upserts every row by its key, then drops the rows the new file no longer has."""
        for chunk in _chunks(rows):
            statement = pg_insert(model).values(list(chunk))
            updated = {name: statement.excluded[name] for name in chunk[0] if name != key_name}
            await self.session.execute(
                statement.on_conflict_do_update(index_elements=[key_name], set_=updated)
            )
        keys = [row[key_name] for row in rows]
        await self.session.execute(delete(model).where(key != all_(literal(keys, ARRAY(String())))))
