"""Offset and keyset (cursor) pagination that fill the list envelope.

Offset pages are simple and give a total; cursor pages stay fast and stable
on long, growing lists (audit records, runs). A cursor is opaque to clients:
URL-safe base64 of the last item's sort key and id.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query
from sqlalchemy import Select, func, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from devgen.kit.errors import ValidationFailed
from devgen.kit.responses import ListMetadata

MAX_LIMIT = 100


@dataclass(frozen=True, slots=True)
class PageParams:
    """What a client asked for: how many, and from where."""

    limit: int = 20
    offset: int = 0
    cursor: str | None = None


_Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Items per page.")]


def _offset_params(
    limit: _Limit = 20,
    offset: Annotated[int, Query(ge=0, le=1_000_000, description="Items to skip.")] = 0,
) -> PageParams:
    return PageParams(limit=limit, offset=offset)


def _cursor_params(
    limit: _Limit = 20,
    cursor: Annotated[
        str | None,
        Query(max_length=512, description="Opaque cursor from a previous `next_cursor`."),
    ] = None,
) -> PageParams:
    if cursor is not None:
        decode_cursor(cursor)
    return PageParams(limit=limit, cursor=cursor)


Page = Annotated[PageParams, Depends(_offset_params)]
"""Offset pagination parameters (``limit``, ``offset``)."""

CursorPage = Annotated[PageParams, Depends(_cursor_params)]
"""Cursor pagination parameters (``limit``, ``cursor``); a foreign cursor is a 422."""


@dataclass(slots=True)
class PageResult:
    """A fetched page and the metadata that describes it."""

    items: list[Any]
    metadata: ListMetadata


async def paginate_offset(
    session: AsyncSession, query: Select[Any], page: PageParams
) -> PageResult:
    """One page of ``query`` by offset, with the total count."""
    total = await session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = (await session.scalars(query.limit(page.limit).offset(page.offset))).all()
    return PageResult(
        items=list(rows),
        metadata=ListMetadata(total=total or 0, limit=page.limit, offset=page.offset),
    )


def encode_cursor(sort_value: Any, item_id: uuid.UUID) -> str:
    """An opaque cursor pointing just after (sort_value, item_id)."""
    value = sort_value.isoformat() if isinstance(sort_value, datetime) else sort_value
    raw = json.dumps([value, str(item_id)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[Any, uuid.UUID]:
    """The (sort value, id) inside a cursor; a clear 422 when it is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        return value, uuid.UUID(item_id)
    except (ValueError, TypeError, binascii.Error, json.JSONDecodeError) as exc:
        raise ValidationFailed(
            "The cursor is not valid; use `next_cursor` from a previous page.",
            details={"field": "cursor"},
        ) from exc


async def paginate_cursor(
    session: AsyncSession,
    query: Select[Any],
    page: PageParams,
    *,
    sort_column: InstrumentedAttribute[Any],
    id_column: InstrumentedAttribute[Any],
    descending: bool = False,
    with_total: bool = True,
) -> PageResult:
    """One page of ``query`` after the cursor, ordered by (sort_column, id)."""
    total = None
    if with_total:
        total = await session.scalar(
            select(func.count()).select_from(query.order_by(None).subquery())
        )
    if page.cursor:
        value, after_id = decode_cursor(page.cursor)
        if isinstance(sort_column.type.python_type, type) and issubclass(
            sort_column.type.python_type, datetime
        ):
            value = datetime.fromisoformat(value)
        key = tuple_(sort_column, id_column)
        query = query.where(key < (value, after_id) if descending else key > (value, after_id))
    order = (sort_column.desc(), id_column.desc()) if descending else (sort_column, id_column)
    rows = list((await session.scalars(query.order_by(*order).limit(page.limit + 1))).all())
    next_cursor = None
    if len(rows) > page.limit:
        rows = rows[: page.limit]
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, sort_column.key), getattr(last, id_column.key))
    return PageResult(
        items=rows,
        metadata=ListMetadata(total=total, limit=page.limit, next_cursor=next_cursor),
    )
