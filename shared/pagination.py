"""Cursor (keyset) pagination: `?limit=&cursor=` -> `{items, next_cursor}`."""

import base64
import json
from datetime import date, datetime
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


async def page_params(
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> PageParams:
    return PageParams(limit=limit, cursor=cursor)


NOT_OUR_CURSOR = "not a cursor this API issued"


def _json_value(value: Any) -> Any:
    # ISO 8601 so that the value reads back with `fromisoformat`; UUIDs, Decimals as text.
    if isinstance(value, date | datetime):
        return value.isoformat()
    return str(value)


def encode_cursor(values: list[Any]) -> str:
    raw = json.dumps(values, default=_json_value, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, width: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except ValueError as exc:
        raise InvalidInput("cursor", NOT_OUR_CURSOR) from exc
    if not isinstance(values, list) or len(values) != width:
        raise InvalidInput("cursor", NOT_OUR_CURSOR)
    return values


def _typed(key: InstrumentedAttribute[Any], value: Any) -> Any:
    """A cursor value back as the column's Python type (a tampered one is a 422, not a 500)."""
    if value is None:
        return None
    python_type = key.type.python_type
    try:
        if python_type in (datetime, date) and isinstance(value, str):
            return python_type.fromisoformat(value)
        if isinstance(value, list | dict | bool):
            raise TypeError("a cursor holds scalar values")
        return python_type(value)
    except (TypeError, ValueError) as exc:
        raise InvalidInput("cursor", NOT_OUR_CURSOR) from exc


async def paginate(
    session: AsyncSession,
    statement: Select[Any],
    keys: list[InstrumentedAttribute[Any]],
    params: PageParams,
) -> tuple[list[Any], str | None]:
    """Rows after the cursor in ascending `keys` order (the last key must be unique)."""
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        typed = [_typed(key, v) for key, v in zip(keys, after, strict=True)]
        statement = statement.where(tuple_(*keys) > tuple_(*typed))
    rows = list((await session.scalars(statement.order_by(*keys).limit(params.limit + 1))).all())
    next_cursor = None
    if len(rows) > params.limit:
        rows = rows[: params.limit]
        last = rows[-1]
        next_cursor = encode_cursor([getattr(last, key.key) for key in keys])
    return rows, next_cursor
