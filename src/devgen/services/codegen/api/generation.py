"""``POST /api/v1/codegen/generate`` and ``/repair``: projects from specs, fixes from failures."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query

from devgen.kit.deps import ReadSession, Session
from devgen.kit.errors import (
    Forbidden,
    NotFound,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.responses import Envelope
from devgen.services.codegen import progress, service
from devgen.services.codegen.api.deps import Writer
from devgen.services.codegen.schemas import (
    GenerateRead,
    GenerateRequest,
    ProgressRead,
    RepairRead,
    RepairRequest,
)
from devgen.services.codegen.state import State

router = APIRouter(
    prefix="/api/v1/codegen",
    tags=["codegen"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "/generate",
    response_model=Envelope[GenerateRead],
    responses=error_responses(ValidationFailed, PayloadTooLarge, ServiceUnavailable),
)
async def generate_project(
    body: GenerateRequest,
    principal: Writer,
    session: Session,
    state: State,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", max_length=200, min_length=1)
    ] = None,
) -> Envelope[GenerateRead]:
    """Generate a project from a spec.

    `engine: template` (the default) is offline and deterministic: the same spec gives
    byte-identical files. `engine: llm` plans and writes the files with the configured
    model within `budget` (422 `BUDGET_EXCEEDED` when the next call could pass it; 503
    `LLM_NOT_CONFIGURED`/`LLM_UNAVAILABLE` when there is no usable model). An invalid
    spec is a 422 `INVALID_SPEC` listing each problem with its path; nothing is stored.
    With an `Idempotency-Key`, the model's progress (llm and hybrid engines) can be read
    under that key from `GET /codegen/progress/{key}` while the request runs.
    """
    key = (
        (principal.tenant_id, idempotency_key) if principal.tenant_id and idempotency_key else None
    )
    return Envelope(data=await service.generate_project(session, state, body, progress=key))


@router.get(
    "/progress/{key}",
    response_model=Envelope[ProgressRead],
    responses=error_responses(NotFound, ValidationFailed),
)
async def generation_progress(
    principal: Writer,
    session: ReadSession,
    key: Annotated[str, Path(max_length=200)],
    after: Annotated[int, Query(ge=0, description="Only the notes numbered after this")] = 0,
) -> Envelope[ProgressRead]:
    """The progress notes of the generation sent with `Idempotency-Key: {key}`.

    Who works on what (role, file, review round), the tokens a streamed answer has reached,
    each piece of work's end; throttled to about one note in flight a second. 404 while
    the generation has written none yet (or in another tenant); kept an hour.
    """
    if principal.tenant_id is None:
        raise NotFound("No progress is known for this key.", details={"key": key})
    data = await progress.read_progress(session, principal.tenant_id, key, after)
    return Envelope(data=ProgressRead.model_validate(data))


@router.post(
    "/repair",
    response_model=Envelope[RepairRead],
    responses=error_responses(ValidationFailed, PayloadTooLarge, ServiceUnavailable),
)
async def repair_project(
    body: RepairRequest, _principal: Writer, session: Session, state: State
) -> Envelope[RepairRead]:
    """Ask the LLM engineer to fix the files that make the given tests fail.

    The files rewritten are `files_to_fix`, else the application files the failures and
    the output name, else those the LLM architect names. Answers every file of the project
    (changed or not), which were rewritten, and the usage against `budget`.
    """
    return Envelope(data=await service.repair(session, state, body))
