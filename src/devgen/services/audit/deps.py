"""Audit's endpoint dependencies: who may read, and the filters of a query."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Query

from devgen.kit.auth import RequireRole
from devgen.kit.errors import ValidationFailed
from devgen.services.audit.schemas import Outcome

Reader = RequireRole("admin")
"""A tenant administrator (or owner) of their tenant, or a platform administrator."""

TenantParam = Annotated[
    uuid.UUID | None,
    Query(description="The tenant whose chain to use (platform administrators only; yours else)."),
]


def _instant(name: str, value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None:
        raise ValidationFailed(
            f"`{name}` must be an RFC 3339 time with a timezone, e.g. 2030-01-01T00:00:00Z.",
            details={"field": name},
        )
    return parsed


@dataclass(frozen=True)
class TimeRange:
    """``[since, until)`` on the time audit recorded each record."""

    since: datetime | None
    until: datetime | None


_Instant = Query(max_length=64, json_schema_extra={"format": "date-time"})


def _time_range(
    since: Annotated[str | None, _Instant] = None,
    until: Annotated[str | None, _Instant] = None,
) -> TimeRange:
    """Recorded at or after ``since`` and before ``until`` (RFC 3339)."""
    window = TimeRange(_instant("since", since), _instant("until", until))
    if window.since and window.until and window.since > window.until:
        raise ValidationFailed("`since` is after `until`.", details={"field": "since"})
    return window


Window = Annotated[TimeRange, Depends(_time_range)]

_Text = Query(max_length=200, pattern=r"^[^\x00-\x1f\x7f]*$")


@dataclass(frozen=True)
class Criteria:
    """The filters of a record query besides tenant and time."""

    actor: str | None
    action_prefix: str | None
    resource_type: str | None
    resource_id: str | None
    outcome: str | None
    trace_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Keyword arguments for a ``RecordFilter``."""
        return dict(self.__dict__)


def _criteria(
    actor: Annotated[str | None, _Text] = None,
    action: Annotated[
        str | None,
        Query(
            max_length=200,
            pattern=r"^[a-z0-9_.]*$",
            description="An action prefix, e.g. `identity.login`.",
        ),
    ] = None,
    resource_type: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z0-9_]*$")] = None,
    resource_id: Annotated[str | None, _Text] = None,
    outcome: Outcome | None = None,
    trace_id: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9a-f]{32}$",
            description="A W3C trace id: the records one request (e.g. a run) led to.",
        ),
    ] = None,
) -> Criteria:
    return Criteria(actor, action, resource_type, resource_id, outcome, trace_id)


Filters = Annotated[Criteria, Depends(_criteria)]
