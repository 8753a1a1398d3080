"""Who may use the orchestrator: reading needs ``read``, starting and changing ``write``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from devgen.kit.auth import CurrentPrincipal, Principal
from devgen.kit.errors import Forbidden
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
