"""``POST /api/v1/codegen/generate`` and ``/repair``: projects from specs, fixes from failures."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.deps import Session
from devgen.kit.errors import (
    Forbidden,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.responses import Envelope
from devgen.services.codegen import service
from devgen.services.codegen.api.deps import Writer
from devgen.services.codegen.schemas import GenerateRead, GenerateRequest, RepairRead, RepairRequest
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
    body: GenerateRequest, _principal: Writer, session: Session, state: State
) -> Envelope[GenerateRead]:
    """Generate a project from a spec.

    `engine: template` (the default) is offline and deterministic: the same spec gives
    byte-identical files. `engine: llm` plans and writes the files with the configured
    model within `budget` (422 `BUDGET_EXCEEDED` when the next call could pass it; 503
    `LLM_NOT_CONFIGURED`/`LLM_UNAVAILABLE` when there is no usable model). An invalid
    spec is a 422 `INVALID_SPEC` listing each problem with its path; nothing is stored.
    """
    return Envelope(data=await service.generate_project(session, state, body))


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
