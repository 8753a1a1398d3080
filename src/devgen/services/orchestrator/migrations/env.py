"""Alembic environment of the orchestrator service."""

from devgen.kit.migrations import run_env
from devgen.services.orchestrator.models import Base

run_env(Base.metadata)
