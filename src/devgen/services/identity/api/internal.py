"""``/internal/v1/auth``: what only the platform's own services may ask identity.

The gateway routes ``/api/…`` and ``/.well-known/…`` only, so nothing here
is reachable from outside through it; distributed, identity's own port is
open to the other services alone (see the NetworkPolicies). Service tokens
need the shared ``DEVGEN_SERVICE_SECRET``; introspection needs a service token.
"""

from __future__ import annotations

from fastapi import APIRouter

from devgen.kit.auth.deps import RequireService
from devgen.kit.deps import Session
from devgen.kit.errors import Forbidden, Unauthorized, error_responses
from devgen.kit.responses import Envelope
from devgen.services.identity import service
from devgen.services.identity.schemas import (
    Introspection,
    ServiceToken,
    ServiceTokenRequest,
    ValidateRequest,
)
from devgen.services.identity.state import State

router = APIRouter(prefix="/internal/v1/auth", tags=["internal"])


@router.post(
    "/validate",
    response_model=Envelope[Introspection],
    responses=error_responses(Unauthorized, Forbidden),
)
async def validate(
    body: ValidateRequest, session: Session, state: State, _caller: RequireService
) -> Envelope[Introspection]:
    """Introspection for other services: is this credential active, and whose is it.

    Only a service token may ask (403 for anyone else): an answer says whose
    a credential is, which is no one else's business.
    """
    return Envelope(data=await service.introspect(session, state, body.token))


@router.post(
    "/service-token",
    response_model=Envelope[ServiceToken],
    responses=error_responses(Unauthorized, Forbidden),
)
async def service_token(
    body: ServiceTokenRequest, session: Session, state: State
) -> Envelope[ServiceToken]:
    """A short-lived access token for a service (``knd=service``, ``svc=<name>``).

    The body carries the shared ``DEVGEN_SERVICE_SECRET``. Endpoints that
    accept only services declare ``RequireService``. With ``tenant_id`` and
    ``user_id`` the token acts on that user's behalf with the role they hold
    in the tenant (403 when they are not an active member).
    """
    return Envelope(
        data=await service.service_token(
            session,
            state,
            body.service,
            body.secret,
            tenant_id=body.tenant_id,
            user_id=body.user_id,
        )
    )
