"""The collaborators the executor's rules need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from devgen.kit.auth.tokens import Introspector
from devgen.kit.db import Database
from devgen.kit.streams import StreamLimiter
from devgen.services.executor.builds import Builds
from devgen.services.executor.lease import Owner
from devgen.services.executor.live import LiveHub
from devgen.services.executor.pool import ExecutionPool
from devgen.services.executor.quota import EnvironmentQuota
from devgen.services.executor.runtimes import RuntimeCatalog
from devgen.services.executor.sandbox import Sandbox
from devgen.services.executor.settings import ExecutorSettings
from devgen.services.executor.worker import Worker


@dataclass(frozen=True)
class ExecutorState:
    """Sandbox, pool and its worker, live output, builds, quotas and settings of this instance."""

    settings: ExecutorSettings
    database: Database
    sandbox: Sandbox
    pool: ExecutionPool
    worker: Worker
    hub: LiveHub
    builds: Builds
    quota: EnvironmentQuota
    runtimes: RuntimeCatalog
    owner: Owner
    streams: StreamLimiter
    introspector: Introspector

    @property
    def unsafe(self) -> bool:
        """Whether executions run without isolation (development only)."""
        return self.settings.sandbox == "unsafe-none"


def _state(request: Request) -> ExecutorState:
    state: ExecutorState = request.app.state.executor
    return state


State = Annotated[ExecutorState, Depends(_state)]
