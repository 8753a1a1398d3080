"""The executor service: sandboxed execution of untrusted code.

The isolation itself lives in :mod:`devgen.services.executor.sandbox`, a plain
asyncio library with no HTTP in it; the service layer wraps it with a worker
pool, a persisted queue, environments, a result cache and the HTTP API.
"""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.kit.settings import Settings
from devgen.services.executor.api import routers
from devgen.services.executor.lifespan import lifespan
from devgen.services.executor.models import Base
from devgen.services.executor.settings import ExecutorSettings


def _max_body_bytes(_settings: Settings) -> int:
    return ExecutorSettings().max_body_bytes()


service = ServiceDefinition(
    name="executor",
    title="devgen executor",
    description="Runs untrusted code in a hardened sandbox: runtimes, environments, executions.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    calls=("identity",),
    port=8005,
    max_body_bytes=_max_body_bytes,
)
