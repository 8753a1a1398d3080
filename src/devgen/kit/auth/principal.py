"""The caller of a request, as every service sees it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class PrincipalKind(StrEnum):
    """What kind of credential the caller presented."""

    user = "user"
    api_key = "api_key"
    service = "service"


ROLE_RANK: dict[str, int] = {"viewer": 1, "member": 2, "admin": 3, "owner": 4}
"""Roles in a tenant, weakest first; a role includes every weaker one."""

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "member": frozenset({"read", "write"}),
    "admin": frozenset({"read", "write", "admin"}),
    "owner": frozenset({"read", "write", "admin"}),
}
"""Scopes a user token carries for its role; API keys carry a subset."""

KNOWN_SCOPES: frozenset[str] = frozenset({"read", "write", "admin"})


def scopes_for_roles(roles: frozenset[str] | set[str] | list[str]) -> frozenset[str]:
    """The union of the scopes the given roles grant."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_SCOPES.get(role, frozenset())
    return frozenset(granted)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller acting in one tenant.

    ``subject`` is the user id for users, the key id for API keys and the
    service name's UUID for service credentials; ``user_id`` is the person
    behind it (for an API key, its owner).
    """

    subject: uuid.UUID
    kind: PrincipalKind
    tenant_id: uuid.UUID | None
    user_id: uuid.UUID | None
    roles: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    token_id: str | None = None
    session_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    platform_admin: bool = False
    service: str | None = None

    @property
    def highest_role_rank(self) -> int:
        """Rank of the strongest role held in the tenant (0 for none)."""
        return max((ROLE_RANK.get(role, 0) for role in self.roles), default=0)

    def has_role(self, role: str) -> bool:
        """Whether the caller holds ``role`` or a stronger one in the tenant."""
        return self.highest_role_rank >= ROLE_RANK[role]

    def has_scope(self, scope: str) -> bool:
        """Whether the credential grants ``scope``."""
        return scope in self.scopes

    @property
    def actor(self) -> str:
        """How audit and logs name the caller, e.g. ``user:<uuid>``."""
        return f"{self.kind.value}:{self.subject}"
