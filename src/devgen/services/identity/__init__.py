"""Identity: users, tenants, roles, sessions, API keys and the keys that sign tokens."""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.services.identity.api import routers
from devgen.services.identity.lifespan import lifespan
from devgen.services.identity.models import Base

service = ServiceDefinition(
    name="identity",
    title="devgen identity",
    description="Accounts, tenants, roles, sessions, API keys and token signing keys.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    port=8001,
)
