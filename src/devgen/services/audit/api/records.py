"""``/api/v1/audit/events``: query records, read one, and (services only) write one."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response, status

from devgen.kit.auth import RequireService
from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import (
    Conflict,
    Forbidden,
    NotFound,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.pagination import CursorPage, paginate_cursor
from devgen.kit.responses import Envelope, ListEnvelope
from devgen.services.audit import repository, service
from devgen.services.audit.deps import Filters, Reader, TenantParam, Window
from devgen.services.audit.models import AuditRecord
from devgen.services.audit.schemas import AuditEventCreate, AuditRecordRead
from devgen.services.audit.state import State

router = APIRouter(
    dependencies=[KnownQueryParameters],
    prefix="/api/v1/audit/events",
    tags=["audit"],
    responses=error_responses(Unauthorized, Forbidden, ValidationFailed),
)


@router.get("", response_model=ListEnvelope[AuditRecordRead], responses=error_responses(NotFound))
async def query_records(
    session: Session,
    principal: Reader,
    page: CursorPage,
    window: Window,
    filters: Filters,
    tenant_id: TenantParam = None,
) -> ListEnvelope[AuditRecordRead]:
    """Records, newest first, filtered; follow ``metadata.next_cursor`` for the next page.

    Tenant administrators see their tenant; platform administrators see every
    tenant (or the one named by ``tenant_id``).
    """
    scope = service.scope_for(principal, tenant_id, one_chain=False)
    where = scope.filter(since=window.since, until=window.until, **filters.as_dict())
    result = await paginate_cursor(
        session,
        repository.records(where),
        page,
        sort_column=AuditRecord.recorded_at,
        id_column=AuditRecord.id,
        descending=True,
        with_total=False,
    )
    data = [AuditRecordRead.model_validate(record) for record in result.items]
    return ListEnvelope(data=data, metadata=result.metadata)


@router.get(
    "/{record_id}", response_model=Envelope[AuditRecordRead], responses=error_responses(NotFound)
)
async def get_record(
    record_id: uuid.UUID, session: Session, principal: Reader
) -> Envelope[AuditRecordRead]:
    """One record; a record of another tenant is 404."""
    scope = service.scope_for(principal, None, one_chain=False)
    record = await repository.record(session, record_id, scope.filter())
    if record is None:
        raise NotFound("Audit record not found.")
    return Envelope(data=AuditRecordRead.model_validate(record))


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[AuditRecordRead | None],
    responses={
        200: {"model": Envelope[AuditRecordRead | None], "description": "Already recorded"},
        **error_responses(NotFound, Conflict, PayloadTooLarge),
    },
)
async def write_record(
    body: AuditEventCreate,
    session: Session,
    principal: RequireService,
    state: State,
    response: Response,
) -> Envelope[AuditRecordRead | None]:
    """Append a record written by a service (service tokens only).

    ``tenant_id`` must be the tenant the service token was minted for: a
    token of another tenant answers 404, a token of no tenant 403; platform
    records (no ``tenant_id``) need a token of no tenant. The record's time
    is audit's clock (a ``time`` sent is 422). ``id`` makes the write
    idempotent: the same id again answers 200 with the first record (409
    when it is in another chain). When the tenant's level for the action is
    ``none``, nothing is recorded and ``data`` is null.
    """
    written = await service.record_direct(session, principal, body, state.settings)
    if written.replayed:
        response.status_code = status.HTTP_200_OK
    record = written.record
    return Envelope(
        data=AuditRecordRead.model_validate(record) if record else None,
        metadata={"recorded": record is not None},
    )
