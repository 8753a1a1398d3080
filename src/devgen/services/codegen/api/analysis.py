"""``POST /api/v1/codegen/analyze``: a requirement into a spec with user stories."""

from __future__ import annotations

from fastapi import APIRouter

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
from devgen.services.codegen.schemas import AnalyzeRead, AnalyzeRequest
from devgen.services.codegen.state import State

router = APIRouter(
    prefix="/api/v1/codegen",
    tags=["codegen"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "/analyze",
    response_model=Envelope[AnalyzeRead],
    responses=error_responses(ValidationFailed, PayloadTooLarge, ServiceUnavailable),
)
async def analyze_requirement(
    body: AnalyzeRequest, _principal: Writer, state: State
) -> Envelope[AnalyzeRead]:
    """Read a requirement into a spec, user stories and acceptance criteria.

    Plain English goes through the deterministic reader (`engine: template`, the default)
    or the configured model (`engine: llm`); a YAML or JSON spec is validated and taken as
    is. What the reader could not use is listed in `unparsed`, its guesses in
    `assumptions`. A requirement with no entity is a 422 `ANALYSIS_FAILED` explaining what
    it expects; an invalid YAML/JSON spec a 422 `INVALID_SPEC` with each problem's path.
    """
    return Envelope(data=await service.analyze(state, body))
