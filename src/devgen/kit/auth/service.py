"""Service credentials: how one service proves to another that it is a service.

Identity mints a short-lived access token with ``knd=service`` and
``svc=<name>`` for a caller that presents the shared ``DEVGEN_SERVICE_SECRET``
(``POST /internal/v1/auth/service-token``, never routed by the gateway).
``ServiceCredentials`` fetches that token through the service client and
caches it until shortly before it expires; the receiving endpoint declares
``RequireService``.
"""

from __future__ import annotations

import asyncio
import time
import uuid

from pydantic import SecretStr

from devgen.kit.client import ServiceClients
from devgen.kit.errors import ServiceUnavailable

SERVICE_TOKEN_PATH = "/internal/v1/auth/service-token"  # noqa: S105 - a path, not a secret
_NAMESPACE = uuid.UUID("5b1f0a7e-8c1d-4a8e-9a51-0e7d3c9b2f10")
_RENEW_BEFORE_SECONDS = 30.0


def service_subject(name: str) -> uuid.UUID:
    """The stable subject (``sub``) of service ``name``'s tokens."""
    return uuid.uuid5(_NAMESPACE, f"devgen-service:{name}")


class ServiceCredentials:
    """This service's access tokens, fetched from identity and renewed before they expire.

    ``token()`` acts for no one; ``token(tenant_id, user_id)`` acts on behalf
    of that user in that tenant (for work that outlives the user's request,
    such as an orchestrator run). Each is cached separately.
    """

    def __init__(self, service: str, clients: ServiceClients, secret: SecretStr | None) -> None:
        self.service = service
        self._clients = clients
        self._secret = secret
        self._tokens: dict[tuple[uuid.UUID, uuid.UUID] | None, tuple[str, float]] = {}
        self._lock = asyncio.Lock()

    async def token(
        self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> str:
        """A valid access token (``ServiceUnavailable`` if identity refuses).

        ``tenant_id`` and ``user_id`` go together: the token then carries the
        user's current role in the tenant.
        """
        key = _key(tenant_id, user_id)
        async with self._lock:
            cached = self._tokens.get(key)
            if cached is None or time.monotonic() >= cached[1] - _RENEW_BEFORE_SECONDS:
                cached = await self._fetch(key)
                self._tokens[key] = cached
            return cached[0]

    def forget(self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None) -> None:
        """Drop a cached token (after a 401 from the service it was sent to)."""
        self._tokens.pop(_key(tenant_id, user_id), None)

    async def _fetch(self, key: tuple[uuid.UUID, uuid.UUID] | None) -> tuple[str, float]:
        if self._secret is None:
            raise ServiceUnavailable(
                "This service has no DEVGEN_SERVICE_SECRET, so it cannot call other services.",
                details={"service": self.service},
            )
        body: dict[str, str] = {"service": self.service, "secret": self._secret.get_secret_value()}
        if key is not None:
            body |= {"tenant_id": str(key[0]), "user_id": str(key[1])}
        response = await self._clients.get("identity").post(
            SERVICE_TOKEN_PATH, json=body, forward_auth=False
        )
        if response.status_code != 200:
            raise ServiceUnavailable(
                "Identity did not issue a service token.",
                details={"service": "identity", "status": response.status_code},
            )
        data = response.json()["data"]
        return str(data["access_token"]), time.monotonic() + float(data["expires_in"])


def _key(
    tenant_id: uuid.UUID | None, user_id: uuid.UUID | None
) -> tuple[uuid.UUID, uuid.UUID] | None:
    if (tenant_id is None) != (user_id is None):
        raise ValueError("give both tenant_id and user_id, or neither")
    return None if tenant_id is None or user_id is None else (tenant_id, user_id)
