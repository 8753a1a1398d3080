"""Profile's HTTP API: everything is under ``/api/v1/profiles/me``."""

from devgen.services.profile.api.avatar import router as avatar_router
from devgen.services.profile.api.notifications import router as notifications_router
from devgen.services.profile.api.preferences import router as preferences_router

routers = [preferences_router, notifications_router, avatar_router]
