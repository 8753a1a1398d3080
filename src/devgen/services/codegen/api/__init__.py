"""Codegen's HTTP API: everything is under ``/api/v1/codegen``."""

from devgen.services.codegen.api.analysis import router as analysis_router
from devgen.services.codegen.api.catalog import router as catalog_router
from devgen.services.codegen.api.generation import router as generation_router
from devgen.services.codegen.api.validation import router as validation_router

routers = [catalog_router, analysis_router, generation_router, validation_router]
