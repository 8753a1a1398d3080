"""Alembic environment of the audit service."""

from devgen.kit.migrations import run_env
from devgen.services.audit.models import Base

run_env(Base.metadata)
