"""Which service owns which path: the gateway's routing table."""

from __future__ import annotations

ROUTES: tuple[tuple[str, str], ...] = (
    ("/.well-known", "identity"),
    ("/api/v1/auth", "identity"),
    ("/api/v1/users", "identity"),
    ("/api/v1/tenants", "identity"),
    ("/api/v1/invitations", "identity"),
    ("/api/v1/api-keys", "identity"),
    ("/api/v1/profiles", "profile"),
    ("/api/v1/audit", "audit"),
    ("/api/v1/files", "storage"),
    ("/api/v1/artifacts", "storage"),
    ("/api/v1/execute", "executor"),
    ("/api/v1/executions", "executor"),
    ("/api/v1/environments", "executor"),
    ("/api/v1/runtimes", "executor"),
    ("/api/v1/codegen", "codegen"),
    ("/api/v1/projects", "orchestrator"),
    ("/api/v1/runs", "orchestrator"),
    ("/api/v1/tasks", "orchestrator"),
    ("/api/v1/workflows", "orchestrator"),
)
"""Path prefixes (whole segments) and the service that owns them."""

AUTH_PATHS: frozenset[str] = frozenset({"/api/v1/auth/login", "/api/v1/auth/register"})
"""Paths that take a password: they get the stricter ``DEVGEN_RATE_LIMIT_AUTH``."""


def owner_of(path: str) -> str | None:
    """The service that owns ``path``, or None when no service does.

    A prefix matches whole path segments only: ``/api/v1/users`` owns
    ``/api/v1/users/42`` but not ``/api/v1/usersettings``.
    """
    for prefix, service in ROUTES:
        if path.startswith(prefix) and (len(path) == len(prefix) or path[len(prefix)] == "/"):
            return service
    return None


def services_routed() -> tuple[str, ...]:
    """Every service that owns at least one prefix, in table order."""
    return tuple(dict.fromkeys(service for _, service in ROUTES))
