"""Cursor (keyset) pagination: `?limit=&cursor=` -> `{items, next_cursor}`."""

import base64
import functools
import json
from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field, TypeAdapter
from sqlalchemy import Integer, Select, bindparam, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from starlette.responses import Response

from shared.db import Reader, ReadQuery
from shared.problems import InvalidInput

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None


class PageParams(BaseModel):
    limit: int = Field(default=50, ge=1, le=200)
    cursor: str | None = Field(default=None, max_length=512)


# `?limit=&cursor=` of a list endpoint, read from the query as one model: no sub-dependency for
# FastAPI to solve on every request (a tenth of a catalogue read's CPU was that solving).
PageDep = Annotated[PageParams, Query()]


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
    rows = (await session.scalars(_one_page(statement, keys, params))).all()
    return _cut(list(rows), keys, params, getattr)


class PageQuery:
    """A keyset-paginated read for a `Reader`, compiled once: `paginate` without building a
    statement per request. Built at import beside the repository:
    `PRODUCTS = PageQuery(select(Product.__table__), [Product.code])`."""

    def __init__(self, statement: Select[Any], keys: list[InstrumentedAttribute[Any]]) -> None:
        self.keys = keys
        limit = bindparam("page_limit", type_=Integer())
        after = tuple_(*(bindparam(f"after_{n}", type_=key.type) for n, key in enumerate(keys)))
        self._first = ReadQuery(statement.order_by(*keys).limit(limit))
        self._after = ReadQuery(statement.where(tuple_(*keys) > after).order_by(*keys).limit(limit))

    async def page(
        self, reader: Reader, params: PageParams, **values: Any
    ) -> tuple[list[dict[str, Any]], str | None]:
        """The rows after the cursor, each a dict of its columns, and the next cursor."""
        if params.cursor:
            cursor = decode_cursor(params.cursor, len(self.keys))
            for n, (key, value) in enumerate(zip(self.keys, cursor, strict=True)):
                values[f"after_{n}"] = _typed(key, value)
            query = self._after
        else:
            query = self._first
        rows = await reader.rows(query, page_limit=params.limit + 1, **values)
        return _cut(rows, self.keys, params, dict.__getitem__)


def _one_page(
    statement: Select[Any], keys: list[InstrumentedAttribute[Any]], params: PageParams
) -> Select[Any]:
    """The statement for the page after the cursor, with one row more to tell if one follows."""
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        typed = [_typed(key, v) for key, v in zip(keys, after, strict=True)]
        statement = statement.where(tuple_(*keys) > tuple_(*typed))
    return statement.order_by(*keys).limit(params.limit + 1)


def _cut(
    rows: list[Any],
    keys: list[InstrumentedAttribute[Any]],
    params: PageParams,
    value: Callable[[Any, str], Any],
) -> tuple[list[Any], str | None]:
    if len(rows) <= params.limit:
        return rows, None
    rows = rows[: params.limit]
    return rows, encode_cursor([value(rows[-1], key.key) for key in keys])


def page_response(item: type[BaseModel], rows: Sequence[Any], next_cursor: str | None) -> Response:
    """A page answered as JSON straight from its rows: the items validated as `item` (from their
    attributes or keys) and written by pydantic in one pass, which FastAPI's `response_model`
    (validate, dump, validate again, encode) does three times over. The route keeps its
    `response_model=Page[item]` for the documentation."""
    body = _page_adapter(item).dump_json(
        _page_adapter(item).validate_python(
            {"items": rows, "next_cursor": next_cursor}, from_attributes=True
        )
    )
    return Response(body, media_type="application/json")


@functools.cache
def _page_adapter(item: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(Page[item])  # type: ignore[valid-type]
