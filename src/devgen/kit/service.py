"""What a service tells the chassis about itself."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import APIRouter
from sqlalchemy import MetaData

from devgen.kit.events.consumer import Consumer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from devgen.kit.settings import Settings

ServiceLifespan = Callable[["FastAPI"], AbstractAsyncContextManager[None]]


@dataclass(frozen=True)
class ServiceDefinition:
    """A service's name, routes, schema and start-up work.

    Each service package exposes one of these as ``service`` in its
    ``__init__``; ``create_app`` turns it into a FastAPI app and the runtime
    decides whether it runs alone or beside the others.
    """

    name: str
    title: str
    description: str
    routers: Sequence[APIRouter]
    metadata: MetaData | None = None
    migrations: Path | None = None
    lifespan: ServiceLifespan | None = None
    calls: tuple[str, ...] = field(default_factory=tuple)
    version: str = "0.1.0"
    port: int = 8000
    consumers: tuple[Consumer, ...] = ()
    """Event handlers (``devgen.kit.events``); the service's schema needs the inbox tables."""
    max_body_bytes: Callable[[Settings], int] | None = None
    """The largest request body the service accepts, worked out from the settings.

    None keeps the chassis limit (``DEVGEN_MAX_BODY_BYTES``); a service that
    takes uploads (storage) returns its own, larger limit and enforces the
    exact per-endpoint limits itself while it reads the body.
    """
