"""``/api/v1/audit/export`` and ``/report``: for compliance."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.responses import Envelope
from devgen.services.audit import export, repository, service
from devgen.services.audit.deps import Reader, TenantParam, Window
from devgen.services.audit.schemas import ExportFormat, ReportRead
from devgen.services.audit.state import State

router = APIRouter(
    dependencies=[KnownQueryParameters],
    prefix="/api/v1/audit",
    tags=["audit"],
    responses=error_responses(Unauthorized, Forbidden, NotFound, ValidationFailed),
)

_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
_EXPORT_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The records, streamed; `X-Audit-Checkpoint` holds the signed checkpoint "
        "of the last one (JSON Lines also end with it).",
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}},
            "text/csv": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/export", response_class=StreamingResponse, responses=_EXPORT_RESPONSE)
async def export_records(
    session: Session,
    principal: Reader,
    state: State,
    window: Window,
    format: Annotated[ExportFormat, Query(description="`jsonl` or `csv`.")] = "jsonl",
    tenant_id: TenantParam = None,
) -> StreamingResponse:
    """One chain's records recorded in ``[since, until)``, oldest first, with a signed end.

    A tenant administrator exports their tenant; a platform administrator
    the tenant named by ``tenant_id``, or the platform chain without it.
    """
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    first, last = await repository.seq_range(session, scope.chain, window.since, window.until)
    checkpoint = None
    if last is not None:
        signed = await service.covering_checkpoint(session, state.signer, scope.chain, last)
        checkpoint = export.checkpoint_document(signed)
    body = (
        export.jsonl(state.database, scope.chain, first, last, checkpoint)
        if format == "jsonl"
        else export.csv_rows(state.database, scope.chain, first, last)
    )
    headers = {
        "Content-Disposition": f'attachment; filename="audit-{scope.chain}.{format}"',
        "X-Audit-Checkpoint": json.dumps(checkpoint, separators=(",", ":")),
    }
    return StreamingResponse(body, media_type=_MEDIA_TYPES[format], headers=headers)


@router.get("/report", response_model=Envelope[ReportRead])
async def report(
    session: Session, principal: Reader, window: Window, tenant_id: TenantParam = None
) -> Envelope[ReportRead]:
    """Counts by action, actor and outcome over ``[since, until)``, with failed sign-ins,
    role changes and API-key creations called out."""
    scope = service.scope_for(principal, tenant_id, one_chain=False)
    where = scope.filter(since=window.since, until=window.until)
    return Envelope(data=await service.report(session, where))
