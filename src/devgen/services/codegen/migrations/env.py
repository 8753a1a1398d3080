"""Alembic environment of the codegen service."""

from devgen.kit.migrations import run_env
from devgen.services.codegen.models import Base

run_env(Base.metadata)
