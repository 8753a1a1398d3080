"""Which services exist, in start-up order, and how to load one by name."""

from __future__ import annotations

import importlib

from devgen.kit.service import ServiceDefinition

SERVICE_NAMES: tuple[str, ...] = (
    "identity",
    "profile",
    "audit",
    "storage",
    "executor",
    "codegen",
    "orchestrator",
)
"""Every backend service, identity first: the others fetch its keys."""


def available_services() -> tuple[str, ...]:
    """The services whose packages are present in this installation."""
    return tuple(name for name in SERVICE_NAMES if _has_definition(name))


def _has_definition(name: str) -> bool:
    try:
        module = importlib.import_module(f"devgen.services.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"devgen.services.{name}":
            raise  # the service is there but one of its imports is not
        return False
    return isinstance(getattr(module, "service", None), ServiceDefinition)


def load_definition(name: str) -> ServiceDefinition:
    """The ``ServiceDefinition`` of service ``name`` (including ``gateway``)."""
    if name != "gateway" and name not in SERVICE_NAMES:
        raise KeyError(f"unknown service {name!r}; known: gateway, {', '.join(SERVICE_NAMES)}")
    try:
        module = importlib.import_module(f"devgen.services.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"devgen.services.{name}":
            raise  # the service is there but one of its imports is not
        raise KeyError(f"service {name!r} is not installed") from exc
    definition = getattr(module, "service", None)
    if not isinstance(definition, ServiceDefinition):
        raise KeyError(f"service {name!r} is not installed")
    return definition
