"""Settings only profile reads."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class ProfileSettings(BaseSettings):
    """Limits on avatar uploads.

    ``avatar_max_bytes`` defaults below the chassis's request-body limit
    (``DEVGEN_MAX_BODY_BYTES``, 2 MiB) so an oversized avatar gets the
    service's own, specific answer rather than the generic one.
    """

    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )

    avatar_max_bytes: int = Field(default=1 * MIB, ge=1024, le=16 * MIB)
    avatar_max_pixels: int = Field(default=4096 * 4096, ge=64 * 64, le=64_000_000)
    avatar_max_side: int = Field(default=256, ge=16, le=1024)
    avatar_workers: int = Field(default=2, ge=1, le=32)
