"""Endpoint dependencies: who may do what, and no query parameter goes unnoticed.

Viewers read, members execute; API keys and service tokens by their scopes.
Every executor resource belongs to a tenant, so a caller without one (a
service credential acting for nobody) is refused outright.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from devgen.kit.auth import CurrentPrincipal, Principal, PrincipalKind
from devgen.kit.errors import Forbidden


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
