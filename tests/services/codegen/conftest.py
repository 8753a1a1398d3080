"""Fixtures of the codegen tests: the stand-in LLM server and engines pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI

from devgen.kit.client import ServiceClients
from devgen.kit.settings import Settings
from devgen.services.codegen.engines.llm import LLMClient, LLMEngine
from tests.helpers import Account, register
from tests.llm_standin import LLMStandIn
from tests.services.codegen.fake_executor import FakeExecutor
from tests.services.codegen.llm_support import llm_settings


@pytest.fixture
def standin() -> Iterator[LLMStandIn]:
    """A stand-in LLM server on a loopback port, empty script."""
    with LLMStandIn() as server:
        yield server


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> str:
    """Both protocols."""
    return str(request.param)


@pytest.fixture
async def engine(standin: LLMStandIn) -> AsyncIterator[LLMEngine]:
    """An LLM engine talking OpenAI's protocol to the stand-in."""
    settings = llm_settings(standin)
    client = LLMClient.from_settings(settings)
    yield LLMEngine(client, settings)
    await client.aclose()


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Codegen's API tests need identity (for tokens) and codegen only."""
    return ("identity", "codegen")


@pytest.fixture
def codegen_app(platform: FastAPI) -> FastAPI:
    """The codegen app inside the platform."""
    app: FastAPI = platform.state.upstream_apps["codegen"]
    return app


@pytest.fixture
async def account(client: httpx.AsyncClient) -> Account:
    """A signed-in tenant owner."""
    return await register(client)


def wire_executor(codegen_app: FastAPI, settings: Settings, executor: FakeExecutor) -> None:
    """Point codegen's service client for ``executor`` at the fake."""
    transport = httpx.ASGITransport(app=executor.app, client=("127.0.0.1", 0))
    codegen_app.state.clients = ServiceClients(
        settings.urls, settings.client, {"executor": transport}
    )


@pytest.fixture
async def executor(codegen_app: FastAPI, settings: Settings) -> AsyncIterator[FakeExecutor]:
    """A fake executor that runs the tests it is sent locally (generated projects only)."""
    fake = FakeExecutor()
    original = codegen_app.state.clients
    wire_executor(codegen_app, settings, fake)
    yield fake
    await codegen_app.state.clients.aclose()
    codegen_app.state.clients = original
