"""Audit: the append-only, hash-chained record of what happened on the platform."""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.services.audit.api import routers
from devgen.services.audit.events import consumers
from devgen.services.audit.lifespan import lifespan
from devgen.services.audit.models import Base

service = ServiceDefinition(
    name="audit",
    title="devgen audit",
    description="Append-only, hash-chained audit records with signed checkpoints and retention.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    consumers=consumers,
    calls=("identity",),
    port=8003,
)
