"""Environments every tenant can use without creating them: ``python-service``.

``python-service`` holds what a generated FastAPI service and its tests need
(see ``codegen/templates/fastapi-service/requirements*.txt.j2``). Its
versions are pinned to the ones this platform runs with when they are
installed here: codegen's local check of a generated project runs against
exactly those, so the sandboxed run sees the same libraries (the newest
releases on an index can break a generated suite, e.g. a deprecation warning
under ``filterwarnings = error``). Without them, the template's ranges apply.
"""

from __future__ import annotations

import functools
import importlib.metadata
import uuid
from dataclasses import dataclass, field
from typing import Any

from devgen.services.executor.runtimes import PYTHON

PYTHON_SERVICE = "python-service"
_NAMESPACE = uuid.UUID("5b0e8a57-56a4-4c43-9e0f-6f0d3c1d7c2a")

# name -> range used when the platform does not have the package installed.
_PYTHON_SERVICE_PACKAGES: dict[str, str] = {
    "fastapi": ">=0.115,<1",
    "starlette": ">=0.40,<1",
    "pydantic": ">=2.7,<3",
    "sqlalchemy": ">=2.0.30,<2.1",
    "httpx": ">=0.27,<1",
    "pytest": ">=8.2,<9",
    "pytest-cov": ">=5,<8",
    # Generated services in accounts mode hash passwords and sign tokens.
    "argon2-cffi": ">=25.1,<26",
    "pyjwt": ">=2.10,<3",
}

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


def _pinned(name: str, fallback: str) -> str:
    try:
        return f"{name}=={importlib.metadata.version(name)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{name}{fallback}"


@functools.cache
def builtins() -> dict[str, BuiltinEnvironment]:
    """Every built-in environment by name (computed on first use: it reads package metadata)."""
    python_service = BuiltinEnvironment(
        name=PYTHON_SERVICE,
        runtime=PYTHON,
        packages=tuple(
            sorted(_pinned(name, fallback) for name, fallback in _PYTHON_SERVICE_PACKAGES.items())
        ),
        description="FastAPI, SQLAlchemy, pydantic, argon2-cffi, PyJWT, httpx, pytest and "
        "pytest-cov: what generated services and their tests need.",
        default_limits=_PYTHON_SERVICE_LIMITS,
    )
    return {python_service.name: python_service}


def builtin_by_id(environment_id: uuid.UUID) -> BuiltinEnvironment | None:
    """The built-in environment with this id, if any."""
    return next((b for b in builtins().values() if b.id == environment_id), None)
