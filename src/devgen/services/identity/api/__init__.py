"""Identity's HTTP API."""

from devgen.services.identity.api.api_keys import router as api_keys_router
from devgen.services.identity.api.auth import router as auth_router
from devgen.services.identity.api.internal import router as internal_router
from devgen.services.identity.api.invitations import router as invitations_router
from devgen.services.identity.api.jwks import router as jwks_router
from devgen.services.identity.api.tenants import router as tenants_router
from devgen.services.identity.api.users import router as users_router

routers = [
    auth_router,
    tenants_router,
    invitations_router,
    users_router,
    api_keys_router,
    jwks_router,
    internal_router,
]
