"""The default way a service learns identity's keys and asks about API keys: over HTTP."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from devgen.kit.auth.principal import Principal, PrincipalKind
from devgen.kit.auth.service import ServiceCredentials
from devgen.kit.auth.tokens import Authenticator, CachedJWKS
from devgen.kit.client import ServiceClients
from devgen.kit.errors import ServiceUnavailable
from devgen.kit.settings import AuthSettings

JWKS_PATH = "/.well-known/jwks.json"
VALIDATE_PATH = "/internal/v1/auth/validate"


def principal_from_introspection(data: dict[str, Any]) -> Principal | None:
    """The principal described by a ``/auth/validate`` answer, None when inactive."""
    if not data.get("active"):
        return None
    kind = PrincipalKind(data["kind"])
    user_id = data.get("user_id")
    tenant = data.get("tenant_id")
    return Principal(
        subject=uuid.UUID(data["sub"]),
        kind=kind,
        tenant_id=uuid.UUID(tenant) if tenant else None,
        user_id=uuid.UUID(user_id) if user_id else None,
        roles=frozenset(data.get("roles") or []),
        scopes=frozenset((data.get("scope") or "").split()),
        token_id=data.get("jti"),
        expires_at=datetime.fromtimestamp(int(data["exp"]), UTC) if data.get("exp") else None,
        platform_admin=bool(data.get("platform_admin", False)),
    )


class RemoteIntrospector:
    """Asks identity's internal ``/auth/validate`` about a credential, as a service."""

    def __init__(self, clients: ServiceClients, credentials: ServiceCredentials) -> None:
        self._clients = clients
        self._credentials = credentials

    async def introspect(self, token: str) -> Principal | None:
        """The principal behind ``token``, None when identity says it is not active."""
        identity = self._clients.get("identity")
        response = await identity.post(
            VALIDATE_PATH, json={"token": token}, token=await self._credentials.token()
        )
        if response.status_code == 401:  # our service token expired early (a key rotation)
            self._credentials.forget()
            response = await identity.post(
                VALIDATE_PATH, json={"token": token}, token=await self._credentials.token()
            )
        if response.status_code != 200:
            raise ServiceUnavailable("The identity service could not validate the credential.")
        return principal_from_introspection(response.json()["data"])


def remote_authenticator(
    clients: ServiceClients, settings: AuthSettings, credentials: ServiceCredentials
) -> Authenticator:
    """An authenticator that fetches identity's JWKS over the service client."""

    async def fetch_jwks() -> dict[str, Any]:
        response = await clients.get("identity").get(JWKS_PATH, forward_auth=False)
        if response.status_code != 200:
            raise ServiceUnavailable("The identity service did not publish its keys.")
        document: dict[str, Any] = response.json()
        return document

    return Authenticator(
        CachedJWKS(
            fetch_jwks,
            max_age_seconds=settings.jwks_cache_seconds,
            min_refetch_seconds=settings.jwks_min_refetch_seconds,
        ),
        RemoteIntrospector(clients, credentials),
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        introspection_cache_seconds=settings.introspection_cache_seconds,
    )
