"""Storage's HTTP API: ``/api/v1/files`` and ``/api/v1/artifacts``."""

from devgen.services.storage.api.artifacts import router as artifacts_router
from devgen.services.storage.api.files import router as files_router

routers = [files_router, artifacts_router]
