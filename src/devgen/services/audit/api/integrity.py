"""``/api/v1/audit/verify``, ``/checkpoints`` and ``/jwks.json``: proving the log is whole."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.responses import Envelope
from devgen.services.audit import repository, service
from devgen.services.audit.deps import Reader, TenantParam
from devgen.services.audit.schemas import CheckpointRead, VerifyReport
from devgen.services.audit.state import State

router = APIRouter(prefix="/api/v1/audit", tags=["audit"], dependencies=[KnownQueryParameters])

_Seq = Annotated[int | None, Query(ge=1, le=2**62)]


@router.get(
    "/verify",
    response_model=Envelope[VerifyReport],
    responses=error_responses(Unauthorized, Forbidden, NotFound, ValidationFailed),
)
async def verify(
    session: Session,
    principal: Reader,
    state: State,
    tenant_id: TenantParam = None,
    from_seq: _Seq = None,
    to_seq: _Seq = None,
) -> Envelope[VerifyReport]:
    """Walk the chain (all chains for a platform administrator without ``tenant_id``).

    Every hash is recomputed and every link and signed checkpoint checked;
    ``valid`` is false and ``broken`` names the first bad record when a
    record was edited, removed, reordered or cut from the end.
    """
    if from_seq and to_seq and from_seq > to_seq:
        raise ValidationFailed("`from_seq` is after `to_seq`.", details={"field": "from_seq"})
    scope = service.scope_for(principal, tenant_id, one_chain=False)
    report = await service.verify(session, state.signer, scope, from_seq=from_seq, to_seq=to_seq)
    return Envelope(data=report)


@router.get(
    "/checkpoints",
    response_model=Envelope[list[CheckpointRead]],
    responses=error_responses(Unauthorized, Forbidden, NotFound),
)
async def list_checkpoints(
    session: Session, principal: Reader, tenant_id: TenantParam = None
) -> Envelope[list[CheckpointRead]]:
    """The signed checkpoints of a chain, oldest first: keep copies to detect truncation later."""
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    found = await repository.checkpoints(session, scope.chain)
    return Envelope(data=[CheckpointRead.model_validate(c) for c in found])


@router.get("/jwks.json", summary="Keys that sign audit checkpoints (JWKS)")
async def jwks(state: State, response: Response) -> dict[str, Any]:
    """Ed25519 public keys by ``kid``; public, like identity's JWKS."""
    response.headers["Cache-Control"] = "public, max-age=60"
    return state.signer.jwks
