"""The collaborators the orchestrator's endpoints need, built once in the app's lifespan."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from devgen.kit.auth.tokens import Introspector
from devgen.kit.db import Database
from devgen.kit.streams import StreamLimiter
from devgen.services.orchestrator.engine import RunEngine
from devgen.services.orchestrator.engines import DefaultEngine
from devgen.services.orchestrator.live import RunWatch
from devgen.services.orchestrator.settings import OrchestratorSettings


@dataclass(frozen=True)
class OrchestratorState:
    """Settings, the database, the run engine (None when disabled), the run watch, and
    what keeps the event streams in bounds (the limiter, identity's introspection)."""

    settings: OrchestratorSettings
    database: Database
    engine: RunEngine | None
    watch: RunWatch
    streams: StreamLimiter
    introspector: Introspector
    default_engine: DefaultEngine

    def after_stop(self, run_id: uuid.UUID) -> None:
        """A run is stopping: interrupt its steps running in this process at once."""
        if self.engine is not None:
            self.engine.stop_run_locally(run_id)
            self.engine.wake()


def _state(request: Request) -> OrchestratorState:
    state: OrchestratorState = request.app.state.orchestrator
    return state


State = Annotated[OrchestratorState, Depends(_state)]
