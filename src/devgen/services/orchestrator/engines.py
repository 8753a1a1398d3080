"""The engine a run gets when neither the request nor its project names one.

``DEVGEN_ORCHESTRATOR_DEFAULT_ENGINE=auto`` (the default) makes it ``hybrid`` when codegen
offers it, that is when a model is configured there, and ``template`` otherwise. Whether
codegen offers it is asked of codegen's catalog (``GET /api/v1/codegen/templates``, as the
caller) and kept for ``DEVGEN_ORCHESTRATOR_DEFAULT_ENGINE_CACHE_SECONDS``: configuring a
model in codegen changes new runs' default within that time. Codegen unreachable means
``template`` for this run, not a refused run: the generate step would then wait and
retry for codegen like any run.
"""

from __future__ import annotations

import time
import uuid
from typing import Protocol

import structlog

from devgen.kit.auth.principal import Principal
from devgen.kit.client import ServiceClients
from devgen.kit.errors import DevgenError
from devgen.services.orchestrator.access import tenant_of
from devgen.services.orchestrator.calls import CallFailed, CredentialSource, ServiceCaller

CATALOG_PATH = "/api/v1/codegen/templates"
_log = structlog.get_logger(__name__)


class DefaultEngine:
    """Resolves the ``auto`` default engine from codegen's catalog, cached."""

    def __init__(
        self,
        choice: str,
        clients: ServiceClients,
        credentials: CredentialSource,
        *,
        cache_seconds: float,
    ) -> None:
        self._choice = choice
        self._clients = clients
        self._credentials = credentials
        self._cache_seconds = cache_seconds
        self._known: tuple[float, str] | None = None

    async def engine(self, principal: Principal) -> str:
        """The engine for a new run or project of this caller that names none."""
        if self._choice != "auto":
            return self._choice
        now = time.monotonic()
        if self._known is not None and now - self._known[0] < self._cache_seconds:
            return self._known[1]
        caller = ServiceCaller(
            self._clients, self._credentials, tenant_of(principal), principal.user_id
        )
        try:
            catalog = await caller.call("codegen", "GET", CATALOG_PATH, expect=(200,))
        except (CallFailed, DevgenError) as exc:
            # Not deployed with codegen (an API-only test platform) or unreachable.
            _log.warning("default_engine_unknown", reason=str(exc), engine="template")
            return "template"
        offered = {engine for item in catalog or [] for engine in item.get("engines") or []}
        engine = "hybrid" if "hybrid" in offered else "template"
        self._known = (now, engine)
        return engine


class _StartsRuns(Protocol):
    engine: str | None
    project_id: uuid.UUID | None


class _HasDefaultEngine(Protocol):
    default_engine: DefaultEngine


async def default_engine_for(
    orchestrator: _HasDefaultEngine, principal: Principal, body: _StartsRuns
) -> str | None:
    """The default engine a run started with ``body`` needs, or ``None`` when it names one
    or runs a project (which has its own)."""
    if body.engine is not None or body.project_id is not None:
        return None
    return await orchestrator.default_engine.engine(principal)
