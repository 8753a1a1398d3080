"""Codegen's start-up: its settings, the worker limiter and the LLM client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from anyio import CapacityLimiter
from fastapi import FastAPI

from devgen.services.codegen.engines import openapi_export
from devgen.services.codegen.engines.llm import LLMClient, LLMEngine, LLMSettings
from devgen.services.codegen.metrics import llm_metrics
from devgen.services.codegen.settings import CodegenSettings
from devgen.services.codegen.state import CodegenState

log = structlog.get_logger(__name__)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build codegen's state; close the LLM client's connections at shutdown."""
    settings = CodegenSettings()
    llm_settings = LLMSettings()
    llm_metrics()  # exported from the start, zero until a completion
    # Generation and validation run tools in subprocesses from worker threads; the
    # limiter keeps at most this many at once however many requests arrive.
    workers = CapacityLimiter(settings.codegen_workers)
    client = LLMClient.from_settings(llm_settings) if llm_settings.enabled else None
    engine = LLMEngine(client, llm_settings, limiter=workers) if client is not None else None
    log.info(
        "codegen_started",
        workers=settings.codegen_workers,
        llm=llm_settings.llm_provider if engine else None,
        model=llm_settings.llm_model or None,
    )
    app.state.codegen = CodegenState(
        settings,
        llm_settings,
        workers,
        engine,
        database=getattr(app.state, "database", None),
        progress_interval=settings.codegen_progress_interval_seconds,
    )
    # The template engine's OpenAPI export server imports FastAPI & co. once (~1 s): in the
    # background now, rather than in the first generation.
    warming = asyncio.create_task(asyncio.to_thread(openapi_export.warm_up))
    try:
        yield
    finally:
        await warming
        if client is not None:
            await client.aclose()
