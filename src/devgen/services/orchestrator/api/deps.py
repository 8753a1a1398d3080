"""Who may use the orchestrator: reading needs ``read``, starting and changing ``write``.

What a caller may change on top (their own projects, workflows and runs, or
anything as an admin) is decided by the service layer (``access``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from devgen.kit.auth import CurrentPrincipal, Principal
from devgen.services.orchestrator.access import require_scope


def _needs(scope: str) -> object:
    async def check(principal: CurrentPrincipal) -> Principal:
        return require_scope(principal, scope)

    return Depends(check)


Reader = Annotated[Principal, _needs("read")]
"""A caller in a tenant whose credential grants ``read`` (viewers and up)."""

Writer = Annotated[Principal, _needs("write")]
"""A caller in a tenant whose credential grants ``write`` (members and up)."""
