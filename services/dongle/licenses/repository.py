"""Every query of the licenses on keys."""

import uuid
from datetime import date, datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import (
    String,
    Table,
    Uuid,
    bindparam,
    cast,
    exists,
    insert,
    null,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import KeyLicense, ProtectionKey


def _store_statement() -> Any:
    """Built once (a CTE costs more to build than to run): lock the license's row, update it
    when `applied_at` is newer, or insert it when there is none; either way onto the key with
    `serial` (NULL when none has it yet). Yields `(previous_key_id, key_id)`, nothing for an
    event older than the stored state."""
    licenses = typed(Table, KeyLicense.__table__)
    keys = typed(Table, ProtectionKey.__table__)
    key_id = (
        select(keys.c.id)
        .where(keys.c.serial == bindparam("serial", type_=String))
        .scalar_subquery()
    )
    columns = ["organization_id", "product_code", "status", "expires_at", "applied_at"]
    state = {name: bindparam(name, type_=licenses.c[name].type) for name in columns}
    before = (
        select(licenses.c.id, licenses.c.key_id)
        .where(licenses.c.id == bindparam("license_id", type_=Uuid))
        .with_for_update()
        .cte("before")
    )
    updated = (
        update(licenses)
        .where(licenses.c.id == before.c.id, licenses.c.applied_at < state["applied_at"])
        .values(key_id=key_id, **state)
        .returning(before.c.key_id.label("previous_key_id"), licenses.c.key_id)
        .cte("updated")
    )
    inserted = (
        insert(licenses)
        .from_select(
            ["id", "key_id", *columns],
            select(bindparam("license_id", type_=Uuid), key_id, *state.values()).where(
                ~exists(select(before.c.id))
            ),
        )
        .returning(cast(null(), Uuid).label("previous_key_id"), licenses.c.key_id)
        .cte("inserted")
    )
    return select(updated.c.previous_key_id, updated.c.key_id).union_all(
        select(inserted.c.previous_key_id, inserted.c.key_id)
    )


STORE = _store_statement()


class LicenseRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(
        self,
        license_id: uuid.UUID,
        *,
        serial: str | None,
        organization_id: uuid.UUID,
        product_code: str,
        status: str,
        expires_at: date | None,
        applied_at: datetime,
    ) -> Any:
        """Writes the license's state unless a newer one is stored, in one statement, and puts
        it on the key with `serial`. Returns `(previous_key_id, key_id)`, or None for an older
        event; `key_id` is None when no key has the serial yet.

        A first event of a license met by two replicas at once makes one INSERT fail on the
        primary key; the consumer tries that event again, and it then finds the row."""
        rows = await self.session.execute(
            STORE,
            {
                "license_id": license_id,
                "serial": serial,
                "organization_id": organization_id,
                "product_code": product_code,
                "status": status,
                "expires_at": expires_at,
                "applied_at": applied_at,
            },
        )
        return rows.first()

    async def put_on_key(self, license_id: uuid.UUID, key_id: uuid.UUID) -> None:
        await self.session.execute(
            update(KeyLicense).where(KeyLicense.id == license_id).values(key_id=key_id)
        )

    async def ids_on_key(self, key_id: uuid.UUID) -> list[uuid.UUID]:
        rows = await self.session.scalars(
            select(KeyLicense.id).where(KeyLicense.key_id == key_id).order_by(KeyLicense.id)
        )
        return list(rows)

    async def move(
        self, license_ids: list[uuid.UUID], from_key: uuid.UUID | None, to_key: uuid.UUID | None
    ) -> None:
        for license_ in await self.session.scalars(
            select(KeyLicense).where(KeyLicense.id.in_(license_ids), KeyLicense.key_id == from_key)
        ):
            license_.key_id = to_key
        await self.session.flush()

    async def move_onto(self, license_ids: list[uuid.UUID], key_id: uuid.UUID) -> None:
        for license_ in await self.session.scalars(
            select(KeyLicense).where(KeyLicense.id.in_(license_ids))
        ):
            license_.key_id = key_id
        await self.session.flush()
