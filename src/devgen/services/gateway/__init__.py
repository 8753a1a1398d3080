"""Gateway: the front door. Routes ``/api/v1/...`` to the owning service."""

from devgen.kit.service import ServiceDefinition
from devgen.services.gateway.api import router
from devgen.services.gateway.console import router as console_router
from devgen.services.gateway.docs import router as docs_router
from devgen.services.gateway.lifespan import lifespan
from devgen.services.gateway.settings import UNLIMITED_BODY_BYTES

service = ServiceDefinition(
    name="gateway",
    title="devgen gateway",
    description=(
        "Routes requests to the devgen services, applies rate limits and CORS, "
        "aggregates their health and serves the web console."
    ),
    routers=[console_router, docs_router, router],
    lifespan=lifespan,
    port=8000,
    # Each service enforces its own body limit (storage takes large uploads);
    # the gateway streams bodies through and lets the owner refuse them.
    max_body_bytes=lambda _settings: UNLIMITED_BODY_BYTES,
)
