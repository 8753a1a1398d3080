"""``/api/v1/runtimes``: the interpreters executions can use here."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.deps import KnownQueryParameters
from devgen.kit.errors import Forbidden, Unauthorized, error_responses
from devgen.kit.responses import ListEnvelope, ListMetadata
from devgen.services.executor.deps import Reader
from devgen.services.executor.schemas import RuntimeRead
from devgen.services.executor.state import State

router = APIRouter(
    prefix="/api/v1/runtimes",
    tags=["runtimes"],
    responses=error_responses(Unauthorized, Forbidden),
    dependencies=[KnownQueryParameters],
)


@router.get("", response_model=ListEnvelope[RuntimeRead])
async def list_runtimes(state: State, principal: Reader) -> ListEnvelope[RuntimeRead]:
    """python3 always; node, bash and sh when installed; with their versions."""
    del principal  # any reader may look
    runtimes = await state.runtimes.all()
    items = [
        RuntimeRead.model_validate({"name": r.name, "version": r.version, "path": r.path})
        for r in runtimes.values()
    ]
    return ListEnvelope(data=items, metadata=ListMetadata(total=len(items), limit=len(items)))
