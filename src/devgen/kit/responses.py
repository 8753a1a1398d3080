"""The success envelope: ``{"data": ..., "metadata": {...}}``."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    """A single resource or result."""

    data: T
    metadata: dict[str, Any] = Field(default_factory=dict)


class ListMetadata(BaseModel):
    """Where a page sits in the whole list."""

    total: int | None = Field(default=None, description="All matching items (None when unknown).")
    limit: int
    offset: int | None = None
    next_cursor: str | None = Field(
        default=None, description="Pass as `cursor` for the next page; null on the last page."
    )


class ListEnvelope(BaseModel, Generic[T]):
    """A page of a list."""

    data: list[T]
    metadata: ListMetadata


def envelope(data: Any, **metadata: Any) -> dict[str, Any]:
    """Wrap ``data`` in the success envelope."""
    return {"data": data, "metadata": metadata}
