"""The collaborators codegen's endpoints need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from devgen.kit.db import Database
from devgen.services.codegen.engines.llm import LLMEngine, LLMSettings
from devgen.services.codegen.settings import CodegenSettings


@dataclass(frozen=True)
class CodegenState:
    """Settings, the limiter of CPU-bound jobs and the LLM engine (None when not configured)."""

    settings: CodegenSettings
    llm_settings: LLMSettings
    workers: CapacityLimiter
    llm: LLMEngine | None
    database: Database | None = None
    """Where a running generation's progress is written (:mod:`.progress`)."""
    progress_interval: float = 1.0
    """Least time between two in-flight progress notes of one generation."""


def _state(request: Request) -> CodegenState:
    state: CodegenState = request.app.state.codegen
    return state


State = Annotated[CodegenState, Depends(_state)]
