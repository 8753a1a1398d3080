"""Endpoint dependencies: who may do what, and no query parameter goes unnoticed.

Viewers read, members execute; API keys and service tokens by their scopes.
Every executor resource belongs to a tenant, so a caller without one (a
service credential acting for nobody) is refused outright.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from devgen.kit.auth import CurrentPrincipal, Principal, PrincipalKind
from devgen.kit.errors import Forbidden, ValidationFailed


def _allowed(principal: Principal, *, role: str, scope: str) -> Principal:
    if principal.tenant_id is None:
        raise Forbidden("This needs a credential acting in a tenant.")
    if principal.kind is PrincipalKind.user:
        if not principal.has_role(role):
            raise Forbidden(f"This needs the {role} role in the tenant.")
    elif not principal.has_scope(scope):
        raise Forbidden(f"This needs the {scope!r} scope.")
    return principal


async def _reader(principal: CurrentPrincipal) -> Principal:
    return _allowed(principal, role="viewer", scope="read")


async def _runner(principal: CurrentPrincipal) -> Principal:
    return _allowed(principal, role="member", scope="write")


Reader = Annotated[Principal, Depends(_reader)]
"""A viewer (or stronger) of the tenant, or a credential with the ``read`` scope."""

Runner = Annotated[Principal, Depends(_runner)]
"""A member (or stronger) of the tenant, or a credential with the ``write`` scope."""


def _query_names(dependant: Any) -> set[str]:
    names = {field.alias for field in dependant.query_params}
    for sub in dependant.dependencies:
        names |= _query_names(sub)
    return names


async def reject_unknown_query(request: Request) -> None:
    """422 for a query parameter the endpoint does not take (a typo must not pass silently).

    ``?stauts=failed`` would otherwise list everything, unfiltered.
    """
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    unknown = sorted(set(request.query_params) - _query_names(dependant))
    if unknown:
        errors = [
            {"location": f"query.{name[:64]}", "message": "not a parameter of this endpoint"}
            for name in unknown[:10]
        ]
        raise ValidationFailed("Unknown query parameters.", details={"errors": errors})


KnownQuery = Depends(reject_unknown_query)
"""Router dependency: refuse query parameters the endpoint does not declare."""
