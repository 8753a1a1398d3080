"""The collaborators codegen's endpoints need, built once in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from anyio import CapacityLimiter
from fastapi import Depends, Request

from devgen.services.codegen.engines.llm import LLMEngine, LLMSettings
from devgen.services.codegen.settings import CodegenSettings


@dataclass(frozen=True)
class CodegenState:
    """Settings, the limiter of CPU-bound jobs and the LLM engine (None when not configured)."""

    settings: CodegenSettings
    llm_settings: LLMSettings
    workers: CapacityLimiter
    llm: LLMEngine | None


def _state(request: Request) -> CodegenState:
    state: CodegenState = request.app.state.codegen
    return state


State = Annotated[CodegenState, Depends(_state)]
