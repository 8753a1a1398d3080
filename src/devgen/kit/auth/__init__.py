"""Who is calling: principals, token verification and the endpoint dependencies."""

from devgen.kit.auth.deps import (
    CurrentPrincipal,
    OptionalPrincipal,
    OwnCredentials,
    RequireRole,
    RequireScope,
    RequireService,
)
from devgen.kit.auth.principal import ROLE_RANK, Principal, PrincipalKind

__all__ = [
    "ROLE_RANK",
    "CurrentPrincipal",
    "OptionalPrincipal",
    "OwnCredentials",
    "Principal",
    "PrincipalKind",
    "RequireRole",
    "RequireScope",
    "RequireService",
]
