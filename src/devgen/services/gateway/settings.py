"""Settings only the gateway reads."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

UNLIMITED_BODY_BYTES = 2**62
"""The gateway's own body limit: none in practice, the owning service decides."""


class GatewaySettings(BaseSettings):
    """How the gateway talks to services it reaches over HTTP, and names its rate-limit keys.

    Rate limits themselves (``DEVGEN_RATE_LIMIT_*``, ``DEVGEN_REDIS_URL``) are
    chassis settings, see ``devgen.kit.settings.RateLimitSettings``.
    """

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    gateway_upstream_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Longest wait for an upstream service to answer or send the next chunk "
        "(SSE streams send a keep-alive well within it); then 504.",
    )
    gateway_health_timeout_seconds: float = Field(
        default=2.0, gt=0, description="How long the aggregate /health waits for each service."
    )
    rate_limit_key_prefix: str = Field(
        default="devgen",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Prefix of rate-limit keys, so deployments can share one Redis.",
    )
