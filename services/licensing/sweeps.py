"""The one query every licensing sweep claims its rows with.

Rows are chosen `FOR UPDATE SKIP LOCKED` and the UPDATE checks `pending` again, so two sweeps
running at once (two replicas, or a job and a late event) change each row once: the second
skips the rows the first holds, and finds them no longer pending once it commits.
"""

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


async def claim_due(
    session: AsyncSession,
    id_column: InstrumentedAttribute[uuid.UUID],
    *,
    pending: ColumnElement[bool],
    due: ColumnElement[bool],
    order_by: Sequence[Any],
    values: dict[str, Any],
    limit: int,
) -> list[Any]:
    """Sets `values` on up to `limit` rows that are `pending` and `due`; those rows, as they
    are now, in `order_by` order."""
    chosen = (
        select(id_column)
        .where(pending, due)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    model = id_column.class_
    claimed = list(
        await session.scalars(
            update(model)
            .where(id_column.in_(chosen), pending)
            .values(**values)
            .returning(id_column)
        )
    )
    if not claimed:
        return []
    rows = await session.scalars(
        select(model)
        .where(id_column.in_(claimed))
        .order_by(*order_by)
        .execution_options(populate_existing=True)
    )
    return list(rows)
