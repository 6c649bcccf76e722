"""Every query of update files, set-based where the monthly run handles keys by thousands."""

import uuid
from collections import defaultdict
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import (
    DateTime,
    Integer,
    String,
    Table,
    Text,
    Uuid,
    and_,
    bindparam,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from services.dongle.models import (
    KeyLicense,
    LossReport,
    ProtectionKey,
    ProtectionSubscription,
    UpdateFile,
)
from services.dongle.update_files.files import SignedFiles

# Keys that get update files: not reported lost or stolen (rule 4).
PROGRAMMABLE = ("active", "carrier")


class UpdateFileRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def _protected(self, columns: Any) -> Any:
        """Keys with an active subscription and no loss report: not lost or stolen, and not a
        found key whose subscription waits to move onto its replacement."""
        return (
            select(columns)
            .select_from(ProtectionKey)
            .join(
                ProtectionSubscription,
                and_(
                    ProtectionSubscription.key_id == ProtectionKey.id,
                    ProtectionSubscription.status == "active",
                ),
            )
            .where(*self._programmable(ProtectionKey.id, ProtectionKey.status))
        )

    def _programmable(self, key_id: Any, status: Any) -> list[Any]:
        """The key is not lost or stolen and no loss report holds it."""
        held = exists().where(
            LossReport.key_id == key_id,
            LossReport.restoration == "invoiced",
            LossReport.replaced_at.is_(None),
        )
        return [status.in_(PROGRAMMABLE), ~held]

    def _has_file(self, month: str, key_id: Any = ProtectionKey.id) -> Any:
        return exists().where(UpdateFile.key_id == key_id, UpdateFile.month == month)

    async def count_done(self, month: str) -> int:
        """Protected keys that have their file for `month` already."""
        statement = self._protected(func.count()).where(self._has_file(month))
        return int(await self.session.scalar(statement) or 0)

    async def next_subscribed(self, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
        """The next `limit` keys with an active subscription, by key id after `after`: a walk
        along the live-subscription index, the same cost for every batch."""
        statement = (
            select(ProtectionSubscription.key_id)
            .where(ProtectionSubscription.status == "active")
            .order_by(ProtectionSubscription.key_id)
            .limit(limit)
        )
        if after is not None:
            statement = statement.where(ProtectionSubscription.key_id > after)
        return list(await self.session.scalars(statement))

    async def claim_due(
        self, key_ids: list[uuid.UUID], month: str, valid_until: datetime
    ) -> list[Any]:
        """Of these subscribed keys, those due a file for `month` (programmable, none made this
        month): moves each one's sequence on and its programmed end, and returns them by id."""
        # The table, not the mapped class: plain rows back, no ORM bookkeeping per key.
        keys = cast(Table, ProtectionKey.__table__)
        # Joined as a set, not `= ANY(array)`: the planner then probes the key and file
        # indexes per key of the batch instead of scanning whole tables for each batch.
        batch = (
            func.unnest(bindparam("key_ids", key_ids, type_=ARRAY(Uuid)))
            .table_valued("id")
            .render_derived()
        )
        rows = await self.session.execute(
            update(keys)
            .where(
                keys.c.id == batch.c.id,
                *self._programmable(keys.c.id, keys.c.status),
                ~self._has_file(month, keys.c.id),
            )
            .values(
                update_sequence=keys.c.update_sequence + 1,
                programmed_until=func.greatest(keys.c.programmed_until, valid_until),
            )
            .returning(keys.c.id, keys.c.serial, keys.c.organization_id, keys.c.update_sequence)
        )
        return sorted(rows.all(), key=lambda row: row.id)

    async def claim_key(self, key_id: uuid.UUID, valid_until: datetime) -> Any:
        rows = await self.session.execute(
            update(ProtectionKey)
            .where(ProtectionKey.id == key_id)
            .values(
                update_sequence=ProtectionKey.update_sequence + 1,
                programmed_until=func.greatest(ProtectionKey.programmed_until, valid_until),
            )
            .returning(
                ProtectionKey.id,
                ProtectionKey.serial,
                ProtectionKey.organization_id,
                ProtectionKey.update_sequence,
            )
            .execution_options(synchronize_session=False)
        )
        return rows.one()

    async def active_licenses(
        self, key_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, list[tuple[uuid.UUID, str, date | None]]]:
        table = cast(Table, KeyLicense.__table__)
        rows = await self.session.execute(
            select(table.c.key_id, table.c.id, table.c.product_code, table.c.expires_at)
            .where(
                table.c.key_id == func.any(bindparam("key_ids", key_ids, type_=ARRAY(Uuid))),
                table.c.status == "active",
            )
            .order_by(table.c.key_id, table.c.product_code, table.c.id)
        )
        by_key: dict[uuid.UUID, list[tuple[uuid.UUID, str, date | None]]] = defaultdict(list)
        for key_id, license_id, product_code, expires_at in rows:
            assert key_id is not None  # selected by key
            by_key[key_id].append((license_id, product_code, expires_at))
        return by_key

    async def add_signed(self, files: SignedFiles) -> None:
        """One INSERT from arrays for a whole batch of files."""
        rows = select(
            func.unnest(bindparam("ids", files.ids, type_=ARRAY(Uuid))),
            func.unnest(bindparam("key_ids", files.key_ids, type_=ARRAY(Uuid))),
            func.unnest(bindparam("sequences", files.sequences, type_=ARRAY(Integer))),
            literal(files.month, String),
            literal(files.trigger, String),
            literal(files.generated_at, DateTime(timezone=True)),
            literal(files.valid_until, DateTime(timezone=True)),
            literal(files.signing_key_id, String),
            func.unnest(bindparam("jws", files.jws, type_=ARRAY(Text))),
        )
        columns = ["id", "key_id", "sequence", "month", "trigger", "generated_at"]
        columns += ["valid_until", "signing_key_id", "jws"]
        await self.session.execute(insert(UpdateFile).from_select(columns, rows))

    async def of_key(self, key_id: uuid.UUID) -> list[UpdateFile]:
        rows = await self.session.scalars(
            select(UpdateFile).where(UpdateFile.key_id == key_id).order_by(UpdateFile.sequence)
        )
        return list(rows)

    async def one(self, key_id: uuid.UUID, sequence: int) -> UpdateFile | None:
        return await self.session.scalar(
            select(UpdateFile).where(UpdateFile.key_id == key_id, UpdateFile.sequence == sequence)
        )
