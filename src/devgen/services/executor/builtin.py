"""Environments every tenant can use without creating them: ``python-service``.

``python-service`` holds what a generated FastAPI service and its tests need, at
exactly the versions of ``devgen/kit/pins.toml`` — the same list codegen writes into
every generated project's requirements, so a suite that passes here passes with what
its user installs (the newest releases on an index can break a generated suite, e.g. a
deprecation warning under ``filterwarnings = error``).
"""

from __future__ import annotations

import functools
import uuid
from dataclasses import dataclass, field
from typing import Any

from devgen.kit.pins import service_pins
from devgen.services.executor.runtimes import PYTHON

PYTHON_SERVICE = "python-service"
_NAMESPACE = uuid.UUID("5b0e8a57-56a4-4c43-9e0f-6f0d3c1d7c2a")

# A test suite with coverage needs more than a snippet: the generated
# library project alone takes ~4.5 s of CPU under coverage.
_PYTHON_SERVICE_LIMITS: dict[str, Any] = {
    "wall_time_s": 60.0,
    "cpu_time_s": 30.0,
    "memory_bytes": 512 * 1024 * 1024,
}


@dataclass(frozen=True, slots=True)
class BuiltinEnvironment:
    """An environment defined in code: a fixed id, a package set and default limits."""

    name: str
    runtime: str
    packages: tuple[str, ...]
    description: str
    default_limits: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        """A stable id derived from the name."""
        return uuid.uuid5(_NAMESPACE, self.name)


@functools.cache
def builtins() -> dict[str, BuiltinEnvironment]:
    """Every built-in environment by name (computed on first use: it reads the pins)."""
    python_service = BuiltinEnvironment(
        name=PYTHON_SERVICE,
        runtime=PYTHON,
        packages=service_pins().everything,
        description="What generated services and their tests need (FastAPI, pydantic-settings, "
        "SQLAlchemy, Alembic, psycopg, argon2-cffi, PyJWT, httpx, pytest, pytest-cov, ruff, "
        "schemathesis), at the exact versions generated projects pin.",
        default_limits=_PYTHON_SERVICE_LIMITS,
    )
    return {python_service.name: python_service}


def builtin_by_id(environment_id: uuid.UUID) -> BuiltinEnvironment | None:
    """The built-in environment with this id, if any."""
    return next((b for b in builtins().values() if b.id == environment_id), None)
