"""Who may do what with a tenant's files and artifacts.

Reading needs the ``read`` scope, storing the ``write`` scope: a viewer's
token carries ``read``, a member's ``read`` and ``write``, and an API key
whatever scopes it was given. Deleting needs ``write`` and, on top, either
being the one who stored the item (an API key acts for its owner) or the
``admin`` scope (tenant admins and owners). Everything is scoped to the
caller's tenant, so a credential without one reaches nothing.
"""

from __future__ import annotations

import uuid

from devgen.kit.auth import Principal, PrincipalKind
from devgen.kit.errors import Forbidden


def tenant_of(principal: Principal) -> uuid.UUID:
    """The tenant the caller acts in; 403 for a credential bound to none."""
    if principal.tenant_id is None:
        raise Forbidden("This credential is not bound to a tenant.")
    return principal.tenant_id


def require_scope(principal: Principal, scope: str) -> Principal:
    """``principal`` if its credential grants ``scope`` in a tenant, else 403."""
    tenant_of(principal)
    if not principal.has_scope(scope):
        raise Forbidden(f"This needs the {scope!r} scope.")
    return principal


def _is_admin(principal: Principal) -> bool:
    return principal.has_scope("admin") or (
        principal.platform_admin and principal.kind is PrincipalKind.user
    )


def require_deleter(principal: Principal, owner_id: uuid.UUID | None) -> None:
    """403 unless the caller stored the item or administers the tenant."""
    is_owner = owner_id is not None and principal.user_id == owner_id
    if not (is_owner or _is_admin(principal)):
        raise Forbidden("Only whoever stored it or a tenant admin may delete it.")
