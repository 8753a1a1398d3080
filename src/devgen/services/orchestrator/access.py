"""Who may do what with a tenant's projects, workflows and runs.

Reading needs the ``read`` scope (viewers and up). Creating projects and
workflows and starting runs needs ``write`` (members and up). Changing or
deleting a project, deleting a workflow and cancelling a run need ``write``
and, on top, either being the one who created it (who started the run; an
API key acts for its owner) or the ``admin`` scope (tenant admins and
owners). The built-in workflow belongs to no one and cannot be deleted.
Everything is scoped to the caller's tenant, so a credential without one
reaches nothing; another tenant's resource is "not found", never 403.

The same rule as storage's (``devgen.services.storage.access``), written
here again because services do not import each other.
"""

from __future__ import annotations

import uuid

from devgen.kit.auth import Principal, PrincipalKind
from devgen.kit.errors import Forbidden


def tenant_of(principal: Principal) -> uuid.UUID:
    """The caller's tenant; 403 for a credential bound to none."""
    if principal.tenant_id is None:
        raise Forbidden("This credential is not bound to a tenant.")
    return principal.tenant_id


def require_scope(principal: Principal, scope: str) -> Principal:
    """``principal`` if it acts in a tenant and its credential grants ``scope``; else 403."""
    tenant_of(principal)
    if not principal.has_scope(scope):
        raise Forbidden(f"This needs the {scope!r} scope.")
    return principal


def is_admin(principal: Principal) -> bool:
    """Whether the caller administers the tenant (admin or owner, or an ``admin`` API key)."""
    return principal.has_scope("admin") or (
        principal.platform_admin and principal.kind is PrincipalKind.user
    )


def require_manager(principal: Principal, creator_id: uuid.UUID | None, refusal: str) -> None:
    """403 (saying ``refusal``) unless the caller may ``write`` and either created the
    thing (``creator_id``) or administers the tenant."""
    require_scope(principal, "write")
    created_it = creator_id is not None and principal.user_id == creator_id
    if not (created_it or is_admin(principal)):
        raise Forbidden(refusal)
