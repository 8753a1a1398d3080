"""Alembic environment of the storage service."""

from devgen.kit.migrations import run_env
from devgen.services.storage.models import Base

run_env(Base.metadata)
