"""Alembic environment of the identity service."""

from devgen.kit.migrations import run_env
from devgen.services.identity.models import Base

run_env(Base.metadata)
