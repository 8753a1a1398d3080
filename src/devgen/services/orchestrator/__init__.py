"""Orchestrator: projects, workflows, runs and tasks; the requirement-to-service pipeline."""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.services.orchestrator.api import routers
from devgen.services.orchestrator.lifespan import lifespan
from devgen.services.orchestrator.models import Base

service = ServiceDefinition(
    name="orchestrator",
    title="devgen orchestrator",
    description="Projects, workflows (DAGs of built-in steps), runs and their steps: "
    "requirement -> spec -> project -> tests in the sandbox -> repair -> artifact.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    calls=("identity", "codegen", "executor", "storage"),
    port=8007,
)
