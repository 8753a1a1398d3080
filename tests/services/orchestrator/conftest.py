"""Fixtures of the orchestrator tests: its database, engines with scripted steps, principals."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from sqlalchemy import select

from devgen.kit.auth import Principal, PrincipalKind
from devgen.kit.auth.principal import scopes_for_roles
from devgen.kit.client import ServiceClients
from devgen.kit.db import Database
from devgen.kit.settings import ClientSettings, ServiceUrls, Settings
from devgen.services.orchestrator import live
from devgen.services.orchestrator.engine import RunEngine
from devgen.services.orchestrator.live import RunWatch
from devgen.services.orchestrator.models import Run, RunEvent, Task
from devgen.services.orchestrator.schemas import RunCreate, WorkflowCreate
from devgen.services.orchestrator.service import create_workflow
from devgen.services.orchestrator.service import start_run as create_run
from devgen.services.orchestrator.settings import OrchestratorSettings
from devgen.services.orchestrator.states import is_terminal
from devgen.services.orchestrator.steps.base import StepContext, StepExecutor, StepOutcome
from devgen.services.orchestrator.workflow import StepDefinition
from tests.helpers import eventually

Script = Callable[[StepContext], Awaitable[StepOutcome]]


class FakeCredentials:
    """Hands out a fixed token; counts what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[tuple[uuid.UUID | None, uuid.UUID | None]] = []

    async def token(
        self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None
    ) -> str:
        self.asked.append((tenant_id, user_id))
        return "test-token"

    def forget(self, tenant_id: uuid.UUID | None = None, user_id: uuid.UUID | None = None) -> None:
        """Nothing is cached."""


class Scripted:
    """A step executor whose behaviour the test gives; records every call."""

    def __init__(self, script: Script | None = None, output: dict[str, Any] | None = None) -> None:
        self.script = script
        self.output = output or {}
        self.calls: list[StepContext] = []
        self.windows: list[tuple[float, float]] = []

    async def run(self, context: StepContext) -> StepOutcome:
        self.calls.append(context)
        started = asyncio.get_running_loop().time()
        try:
            if self.script is not None:
                return await self.script(context)
            return StepOutcome(output=dict(self.output))
        finally:
            self.windows.append((started, asyncio.get_running_loop().time()))


async def _skip(context: StepContext) -> StepOutcome:
    return StepOutcome.skip("nothing to repair")


def happy_executors() -> dict[str, Scripted]:
    """Executors for every type that succeed at once with plausible outputs."""
    test_run = {
        "passed": True,
        "summary": {"total": 1, "passed": 1, "failed": 0, "error": 0, "skipped": 0},
        "results": [],
        "coverage": None,
    }
    return {
        "analyze": Scripted(
            output={
                "spec": {"name": "x"},
                "user_stories": [],
                "acceptance_criteria": [],
                "unparsed": [],
                "assumptions": [],
            }
        ),
        "generate": Scripted(
            output={
                "files": {"a.py": "x = 1\n"},
                "tests": [],
                "engine": "template",
                "generator": {"name": "fake"},
            }
        ),
        "validate": Scripted(output={"diagnostics": [], "summary": {"ok": True}}),
        "test": Scripted(output={"test_run": test_run, "passed": True}),
        "repair": Scripted(_skip),
        "contract": Scripted(output={"contract": {"passed": True, "failure_count": 0}}),
        "package": Scripted(output={"artifact_id": str(uuid.uuid4()), "report": {}}),
        "notify": Scripted(output={"notified": "hi"}),
        "compensate:delete_artifacts": Scripted(output={"deleted_artifacts": []}),
    }


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Engine tests use the orchestrator's database only."""
    return ("orchestrator",)


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The orchestrator's migrated database for this test."""
    db = Database(settings.database.url_for("orchestrator", settings.core.data_dir), pool_size=5)
    yield db
    await db.dispose()


@pytest.fixture
def principal() -> Principal:
    """A tenant owner."""
    user = uuid.uuid4()
    return Principal(
        subject=user,
        kind=PrincipalKind.user,
        tenant_id=uuid.uuid4(),
        user_id=user,
        roles=frozenset({"owner"}),
        scopes=scopes_for_roles(["owner"]),
    )


EngineFactory = Callable[..., Awaitable[RunEngine]]


@pytest.fixture
async def make_engine(database: Database) -> AsyncIterator[EngineFactory]:
    """Start engines on the test's database; all are stopped at the end."""
    engines: list[RunEngine] = []
    watch = RunWatch()
    live.attach(database.engine, watch)

    async def make(executors: dict[str, StepExecutor], **overrides: Any) -> RunEngine:
        values: dict[str, Any] = {"lease_seconds": 5.0, "poll_seconds": 0.1} | overrides
        values = {f"orchestrator_{key}": value for key, value in values.items()}
        engine = RunEngine(
            database=database,
            clients=ServiceClients(ServiceUrls(), ClientSettings()),
            credentials=FakeCredentials(),
            settings=OrchestratorSettings(**values),
            executors=executors,
        )
        watch.on_change(engine.wake)
        await engine.start()
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        await engine.stop()
    live.detach(database.engine)


async def start_run(
    database: Database,
    principal: Principal,
    *,
    steps: list[StepDefinition] | None = None,
    **params: Any,
) -> uuid.UUID:
    """Create a run (of ``steps`` as a new workflow, else the default one)."""
    async with database.transaction() as session:
        workflow_id = None
        if steps is not None:
            workflow = await create_workflow(
                session, principal, WorkflowCreate(name="test", steps=steps)
            )
            workflow_id = workflow.id
        body = RunCreate(requirement=params.pop("requirement", "A shop sells books."), **params)
        run = await create_run(session, principal, body, workflow_id=workflow_id)
        return run.id


async def wait_run(database: Database, run_id: uuid.UUID, seconds: float = 20.0) -> Run:
    """The run once it has finished; fails the test after ``seconds``."""

    async def current() -> tuple[str, Run]:
        async with database.transaction() as session:
            run = await session.get(Run, run_id, populate_existing=True)
        assert run is not None
        return run.state, run

    _, run = await eventually(
        current,
        until=lambda seen: is_terminal(seen[0]),
        timeout=seconds,
        what=f"run {run_id} finished",
    )
    return run


async def run_tasks(database: Database, run_id: uuid.UUID) -> dict[str, Task]:
    """The run's tasks by step."""
    async with database.transaction() as session:
        rows = await session.scalars(select(Task).where(Task.run_id == run_id))
        return {task.step: task for task in rows}


async def run_events(database: Database, run_id: uuid.UUID) -> list[RunEvent]:
    """The run's event log in order."""
    async with database.transaction() as session:
        rows = await session.scalars(
            select(RunEvent).where(RunEvent.run_id == run_id).order_by(RunEvent.seq)
        )
        return list(rows)
