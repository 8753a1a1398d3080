"""``POST /api/v1/codegen/validate``: diagnostics for a project, and its own tests run."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.deps import Clients
from devgen.kit.errors import (
    Forbidden,
    PayloadTooLarge,
    Unauthorized,
    ValidationFailed,
    error_responses,
)
from devgen.kit.responses import Envelope
from devgen.services.codegen import service
from devgen.services.codegen.api.deps import Writer
from devgen.services.codegen.schemas import ValidateRead, ValidateRequest
from devgen.services.codegen.state import State

router = APIRouter(
    prefix="/api/v1/codegen",
    tags=["codegen"],
    responses=error_responses(Unauthorized, Forbidden),
)


@router.post(
    "/validate",
    response_model=Envelope[ValidateRead],
    responses=error_responses(ValidationFailed, PayloadTooLarge),
)
async def validate_project(
    body: ValidateRequest, _principal: Writer, state: State, clients: Clients
) -> Envelope[ValidateRead]:
    """Check a project: syntax, ruff, bandit, and its tests in the executor's sandbox.

    Each diagnostic names the file, line, rule, message and severity. The tests run
    (`run_tests`, default true) in the executor's `python-service` environment with junit
    and coverage collected; when the executor is unavailable that step is skipped with a
    `tests: skipped (executor unavailable)` diagnostic.
    """
    return Envelope(data=await service.validate(state, clients, body))
