"""Profile: each person's preferences, notification settings and avatar."""

from pathlib import Path

from devgen.kit.service import ServiceDefinition
from devgen.services.profile.api import routers
from devgen.services.profile.events import consumers
from devgen.services.profile.lifespan import lifespan
from devgen.services.profile.models import Base

service = ServiceDefinition(
    name="profile",
    title="devgen profile",
    description="Preferences, notification settings and avatars, one profile per person.",
    routers=routers,
    metadata=Base.metadata,
    migrations=Path(__file__).parent / "migrations",
    lifespan=lifespan,
    consumers=consumers,
    calls=("identity",),
    port=8002,
)
