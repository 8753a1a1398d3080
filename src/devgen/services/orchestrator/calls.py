"""Calling the other services for a run, as the orchestrator acting for the run's user.

A run outlives the request that started it (and a restart), so it cannot
use the user's token: every call carries a short-lived service credential
that identity issued to the orchestrator *on behalf of* the run's tenant and
user (see :mod:`devgen.services.orchestrator.credentials`). Answers are
turned into data or into a :class:`~devgen.services.orchestrator.steps.base.StepError`
that says whether trying again may help.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol

import httpx

from devgen.kit.client import ServiceClients
from devgen.kit.errors import DevgenError


class CredentialSource(Protocol):
    """Where the orchestrator gets a token to act for a tenant's user."""

    async def token(self, tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> str:
        """A bearer token acting for ``user_id`` in ``tenant_id``."""
        ...

    def forget(self, tenant_id: uuid.UUID, user_id: uuid.UUID | None) -> None:
        """Drop a cached token that was refused."""
        ...


class CallFailed(Exception):
    """A service call ended in an error; ``retryable`` when a retry may help."""

    def __init__(
        self,
        service: str,
        status: int | None,
        code: str,
        message: str,
        *,
        retryable: bool,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.service = service
        self.status = status
        self.code = code
        self.message = message
        self.retryable = retryable
        self.details = dict(details or {})


_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_PERMANENT_CODES = frozenset({"LLM_NOT_CONFIGURED"})
"""Refusals that come as a 503 but that no retry can change (a missing setting)."""


def _error_of(response: httpx.Response) -> tuple[str, str, dict[str, Any]]:
    try:
        error = response.json()["error"]
        return str(error["code"]), str(error["message"]), dict(error.get("details") or {})
    except (ValueError, KeyError, TypeError):
        return f"HTTP_{response.status_code}", response.text[:300] or "no message", {}


class ServiceCaller:
    """Calls to the other services for one run's tenant and user."""

    def __init__(
        self,
        clients: ServiceClients,
        credentials: CredentialSource,
        tenant_id: uuid.UUID,
        user_id: uuid.UUID | None,
    ) -> None:
        self._clients = clients
        self._credentials = credentials
        self.tenant_id = tenant_id
        self.user_id = user_id

    async def request(
        self,
        service: str,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Any = None,
        content: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        read_timeout: float | None = None,
    ) -> httpx.Response:
        """Send one request with the run's credential; raises ``CallFailed`` when unreachable.

        A 401 is answered once by fetching a fresh credential (the cached one
        may have just expired); any other status is returned as it is.
        """
        sent = dict(headers or {})
        if idempotency_key is not None:
            sent["Idempotency-Key"] = idempotency_key
        client = self._clients.get(service)
        for attempt in (1, 2):
            token = await self._credential()
            try:
                response = await client.request(
                    method,
                    path,
                    json=json,
                    params=params,
                    content=content,
                    headers=sent,
                    token=token,
                    read_timeout=read_timeout,
                )
            except DevgenError as exc:
                raise CallFailed(
                    service, exc.status_code, exc.code, exc.message, retryable=True
                ) from exc
            if response.status_code == 401 and attempt == 1:
                self._credentials.forget(self.tenant_id, self.user_id)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        expect: tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        """Send one request and return the ``data`` of its envelope (None for 204)."""
        response = await self.request(service, method, path, **kwargs)
        if response.status_code in expect:
            if response.status_code == 204 or not response.content:
                return None
            return response.json().get("data")
        code, message, details = _error_of(response)
        raise CallFailed(
            service,
            response.status_code,
            code,
            message,
            retryable=response.status_code in _RETRYABLE_STATUS and code not in _PERMANENT_CODES,
            details=details,
        )

    async def _credential(self) -> str:
        try:
            return await self._credentials.token(self.tenant_id, self.user_id)
        except DevgenError as exc:
            raise CallFailed(
                "identity", exc.status_code, exc.code, exc.message, retryable=True
            ) from exc
