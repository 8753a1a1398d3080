"""``/api/v1/audit/retention`` and ``/levels``: how long and how much each tenant keeps."""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.auth import RequireRole
from devgen.kit.deps import KnownQueryParameters, Session
from devgen.kit.errors import Forbidden, NotFound, Unauthorized, ValidationFailed, error_responses
from devgen.kit.responses import Envelope
from devgen.services.audit import service
from devgen.services.audit.deps import Reader, TenantParam
from devgen.services.audit.retention import run_retention
from devgen.services.audit.schemas import (
    LevelsRead,
    LevelsUpdate,
    RetentionRead,
    RetentionRun,
    RetentionUpdate,
)
from devgen.services.audit.state import State

router = APIRouter(
    dependencies=[KnownQueryParameters],
    prefix="/api/v1/audit",
    tags=["audit"],
    responses=error_responses(Unauthorized, Forbidden, NotFound, ValidationFailed),
)

Owner = RequireRole("owner")


@router.get("/retention", response_model=Envelope[RetentionRead])
async def get_retention(
    session: Session, principal: Reader, state: State, tenant_id: TenantParam = None
) -> Envelope[RetentionRead]:
    """How many days the chain's records are kept."""
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    return Envelope(data=await service.retention(session, scope.chain, state.settings))


@router.put("/retention", response_model=Envelope[RetentionRead])
async def set_retention(
    body: RetentionUpdate,
    session: Session,
    principal: Owner,
    state: State,
    tenant_id: TenantParam = None,
) -> Envelope[RetentionRead]:
    """Keep the chain's records ``days`` (null: the platform default); owners only.

    At least ``DEVGEN_AUDIT_MIN_RETENTION_DAYS`` (30): fewer is 422 and
    changes nothing. The change is itself a record in the chain
    (``audit.policy.retention_changed``). The retention job prunes older
    records and leaves a signed checkpoint, so verification stays green.
    """
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    result = await service.set_retention(session, principal, scope.chain, body.days, state.settings)
    return Envelope(data=result)


@router.post("/retention/run", response_model=Envelope[RetentionRun])
async def run_retention_now(
    session: Session, principal: Reader, state: State
) -> Envelope[RetentionRun]:
    """Run the retention job now (platform administrators; it also runs hourly)."""
    if not principal.platform_admin:
        raise Forbidden("Only a platform administrator runs the retention job.")
    return Envelope(data=await run_retention(session, state.signer, state.settings))


@router.get("/levels", response_model=Envelope[LevelsRead])
async def get_levels(
    session: Session, principal: Reader, tenant_id: TenantParam = None
) -> Envelope[LevelsRead]:
    """Which event types the chain records in full, summarised or not at all."""
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    return Envelope(data=await service.levels(session, scope.chain))


@router.put("/levels", response_model=Envelope[LevelsRead])
async def set_levels(
    body: LevelsUpdate, session: Session, principal: Owner, tenant_id: TenantParam = None
) -> Envelope[LevelsRead]:
    """Replace the rules (first match wins; no match: ``full``); owners only.

    A ``none`` rule that could match a security-relevant action (identity,
    keys, audit's own policy) is 422: those are recorded at least as
    ``summary``. The change is itself a record in the chain
    (``audit.policy.levels_changed``).
    """
    scope = service.scope_for(principal, tenant_id, one_chain=True)
    return Envelope(data=await service.set_levels(session, principal, scope.chain, body.rules))
