"""Identity's own endpoint dependencies."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from devgen.kit.auth import CurrentPrincipal
from devgen.kit.auth.deps import BearerCredentials, authenticated
from devgen.kit.deps import Session
from devgen.kit.errors import Forbidden
from devgen.services.identity.callers import CheckedCaller, checked_caller
from devgen.services.identity.service import SessionContext, active_context
from devgen.services.identity.state import IdentityState


async def _active(session: Session, principal: CurrentPrincipal) -> SessionContext:
    return await active_context(session, principal)


Active = Annotated[SessionContext, Depends(_active)]
"""The caller, checked against revocation (identity owns the session state)."""


async def _active_read(request: Request, credentials: BearerCredentials) -> CheckedCaller:
    # Every read of identity passes here: two steps instead of four in the dependency tree.
    principal = await authenticated(request, credentials)
    state: IdentityState = request.app.state.identity
    callers = state.callers
    if (remembered := callers.get(principal)) is not None:
        return remembered
    generation = callers.generation
    async with state.database.read_session() as session:
        caller = checked_caller(await active_context(session, principal))
    callers.remember(caller, generation)
    return caller


ActiveReader = Annotated[CheckedCaller, Depends(_active_read)]
"""``Active`` for an endpoint that only reads: the same check, remembered per token
(``identity.callers``) and otherwise run without a write transaction."""


def RequireActiveRole(role: str) -> object:  # noqa: N802 - reads as a type in signatures
    """An active caller holding ``role`` or stronger in the current tenant."""

    async def _check(context: Active) -> SessionContext:
        principal = context.principal
        if not (principal.platform_admin or principal.has_role(role)):
            raise Forbidden(f"This needs the {role} role in the tenant.")
        return context

    return Annotated[SessionContext, Depends(_check)]


ActiveAdmin = RequireActiveRole("admin")
