"""Cursor (keyset) pagination: `?limit=&cursor=` -> `{items, next_cursor}`."""

import base64
import json
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from shared.problems import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = 50
    cursor: str | None = None


def page_params(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=str, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise InvalidInput("cursor", "not a cursor this API issued") from exc
    if not isinstance(values, list) or len(values) != width:
        raise InvalidInput("cursor", "not a cursor this API issued")
    return values


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    keys: list[InstrumentedAttribute[Any]],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Rows after the cursor in ascending `keys` order (the last key must be unique)."""
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        typed = [
            key.type.python_type(v) if v is not None else None
            for key, v in zip(keys, after, strict=True)
        ]
        statement = statement.where(tuple_(*keys) > tuple_(*typed))
    rows = list((await session.scalars(statement.order_by(*keys).limit(params.limit + 1))).all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, key.key) for key in keys])
    return rows, next_cursor
