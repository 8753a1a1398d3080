"""Audit's HTTP API, under ``/api/v1/audit``."""

from devgen.services.audit.api.export import router as export_router
from devgen.services.audit.api.integrity import router as integrity_router
from devgen.services.audit.api.policy import router as policy_router
from devgen.services.audit.api.records import router as records_router

routers = [records_router, integrity_router, export_router, policy_router]
