"""Alembic environment of the executor service."""

from devgen.kit.migrations import run_env
from devgen.services.executor.models import Base

run_env(Base.metadata)
