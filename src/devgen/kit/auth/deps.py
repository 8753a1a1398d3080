"""``Annotated`` dependencies that say what an endpoint needs from its caller.

async def endpoint(principal: CurrentPrincipal): ...
AdminPrincipal = RequireRole("admin")
async def endpoint(principal: AdminPrincipal): ...
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from devgen.kit.auth.context import set_current_principal
from devgen.kit.auth.principal import ROLE_RANK, Principal, PrincipalKind
from devgen.kit.auth.service import ServiceCredentials
from devgen.kit.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An access token or an API key.")

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
"""The request's bearer credential, if any (and the OpenAPI document's security scheme)."""


async def _optional_principal(request: Request, credentials: BearerCredentials) -> Principal | None:
    if credentials is None:
        return None
    authenticator = request.app.state.authenticator
    principal: Principal = await authenticator.authenticate(credentials.credentials)
    set_current_principal(principal)
    return principal


async def authenticated(request: Request, credentials: BearerCredentials) -> Principal:
    """The verified caller of ``request`` (401 without a valid credential).

    What ``CurrentPrincipal`` resolves to, for a dependency on a hot path
    that wants one step less in its dependency tree.
    """
    principal = await _optional_principal(request, credentials)
    if principal is None:
        raise Unauthorized("Send an access token or API key as `Authorization: Bearer …`.")
    return principal


async def _current_principal(
    principal: Annotated[Principal | None, Depends(_optional_principal)],
) -> Principal:
    if principal is None:
        raise Unauthorized("Send an access token or API key as `Authorization: Bearer …`.")
    return principal


OptionalPrincipal = Annotated[Principal | None, Depends(_optional_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_current_principal)]


def RequireRole(role: str) -> Any:  # noqa: N802 - reads as a type in signatures
    """A principal holding ``role`` (or stronger) in its tenant; 403 otherwise.

    API keys hold no role, so role-guarded endpoints are for people only;
    platform administrators pass every role check.
    """
    if role not in ROLE_RANK:
        raise ValueError(f"unknown role {role!r}")

    async def _check(principal: CurrentPrincipal) -> Principal:
        if principal.platform_admin and principal.kind is PrincipalKind.user:
            return principal
        if not principal.has_role(role):
            raise Forbidden(f"This needs the {role} role in the tenant.")
        return principal

    return Annotated[Principal, Depends(_check)]


def RequireScope(scope: str) -> Any:  # noqa: N802 - reads as a type in signatures
    """A principal whose credential grants ``scope``; 403 otherwise."""

    async def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.has_scope(scope):
            raise Forbidden(f"This needs the {scope!r} scope.")
        return principal

    return Annotated[Principal, Depends(_check)]


async def _service_principal(principal: CurrentPrincipal) -> Principal:
    if principal.kind is not PrincipalKind.service or not principal.service:
        raise Forbidden("Only services may call this (use a service token).")
    return principal


RequireService = Annotated[Principal, Depends(_service_principal)]
"""A caller holding a service token from identity (``knd=service``); 403 for anyone else."""


async def _credentials(request: Request) -> ServiceCredentials:
    credentials: ServiceCredentials = request.app.state.service_credentials
    return credentials


OwnCredentials = Annotated[ServiceCredentials, Depends(_credentials)]
"""This service's own credentials, for calls that need a service token."""
