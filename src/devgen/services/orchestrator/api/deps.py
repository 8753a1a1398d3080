"""Who may use the orchestrator: reading needs ``read``, starting and changing ``write``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from devgen.kit.auth import CurrentPrincipal, Principal
from devgen.kit.errors import Forbidden, ValidationFailed
from devgen.services.orchestrator.service import tenant_of


def _needs(scope: str) -> object:
    async def check(principal: CurrentPrincipal) -> Principal:
        tenant_of(principal)
        if not principal.has_scope(scope):
            raise Forbidden(f"This needs the {scope!r} scope.")
        return principal

    return Depends(check)


Reader = Annotated[Principal, _needs("read")]
"""A caller in a tenant whose credential grants ``read`` (viewers and up)."""

Writer = Annotated[Principal, _needs("write")]
"""A caller in a tenant whose credential grants ``write`` (members and up)."""


def _query_names(dependant: Any) -> set[str]:
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def _known_query_parameters(request: Request) -> None:
    # A misspelt filter (``projectid=``) must not quietly list every run.
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = _query_names(dependant)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ValidationFailed(
            f"Unknown query parameters: {', '.join(map(repr, unknown))}.",
            details={"unknown": unknown, "known": sorted(known)},
        )


KnownQueryParameters = Depends(_known_query_parameters)
"""Router dependency: unknown query parameters are refused with 422."""
