"""Storage: files and artifacts in content-addressed blobs, on local disk or S3."""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import Settings
from devgen.services.storage.api import routers
from devgen.services.storage.lifespan import lifespan
from devgen.services.storage.models import Base
from devgen.services.storage.settings import StorageSettings


def request_body_limit(_settings: Settings) -> int:
    """Storage takes uploads far larger than the chassis default; see ``StorageSettings``."""
    return StorageSettings().max_request_bytes


service = ServiceDefinition(
    name="storage",
    title="devgen storage",
    description="Files and generated-project artifacts, stored once per content hash.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    calls=("identity",),
    port=8004,
    max_body_bytes=request_body_limit,
)
