"""Storage's endpoint dependencies: the caller, checked for the scope an endpoint needs."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends

from devgen.kit.auth import CurrentPrincipal, Principal
from devgen.services.storage.access import require_scope


async def _reader(principal: CurrentPrincipal) -> Principal:
    return require_scope(principal, "read")


async def _writer(principal: CurrentPrincipal) -> Principal:
    return require_scope(principal, "write")


Reader = Annotated[Principal, Depends(_reader)]
"""A caller in a tenant whose credential grants ``read``."""

Writer = Annotated[Principal, Depends(_writer)]
"""A caller in a tenant whose credential grants ``write``."""
