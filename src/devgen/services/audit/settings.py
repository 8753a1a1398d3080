"""Settings only audit reads."""

from __future__ import annotations

from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class AuditSettings(BaseSettings):
    """Retention, checkpoints and the size of what services may write."""

    model_config = SettingsConfigDict(env_prefix="DEVGEN_", env_file=".env", extra="ignore")

    audit_retention_days: int = Field(default=365, ge=1, le=36_500)
    """Days a record is kept when its tenant chose nothing else."""
    audit_min_retention_days: int = Field(default=30, ge=1, le=36_500)
    """The fewest days a tenant may keep its records (a shorter retention is refused)."""
    audit_checkpoint_seconds: float = Field(default=60.0, gt=0)
    """How often the head of every chain that grew is signed."""
    audit_retention_interval_seconds: float = Field(default=3600.0, gt=0)
    """How often the retention job runs."""
    audit_max_data_bytes: int = Field(default=64 * 1024, ge=1024)
    """The largest ``data`` a record may carry (as JSON)."""

    @model_validator(mode="after")
    def _default_keeps_the_minimum(self) -> Self:
        if self.audit_retention_days < self.audit_min_retention_days:
            raise ValueError(
                "DEVGEN_AUDIT_RETENTION_DAYS must be at least DEVGEN_AUDIT_MIN_RETENTION_DAYS"
            )
        return self
