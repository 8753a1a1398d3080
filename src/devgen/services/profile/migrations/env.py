"""Alembic environment of the profile service."""

from devgen.kit.migrations import run_env
from devgen.services.profile.models import Base

run_env(Base.metadata)
