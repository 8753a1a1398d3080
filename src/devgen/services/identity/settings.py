"""Settings only identity reads."""

from __future__ import annotations

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

OWASP_MIN_MEMORY_KIB = 19_456
OWASP_MIN_TIME_COST = 2


class IdentitySettings(BaseSettings):
    """Password hashing, login back-off, invitations and signing-key housekeeping."""

    model_config = SettingsConfigDict(env_prefix="DEVGEN_", env_file=".env", extra="ignore")

    argon2_time_cost: int = Field(default=OWASP_MIN_TIME_COST, ge=1, le=20)
    argon2_memory_kib: int = Field(default=OWASP_MIN_MEMORY_KIB, ge=8, le=4 * 1024 * 1024)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)
    login_free_failures: int = Field(default=5, ge=1, le=100)
    login_backoff_base_seconds: float = Field(default=1.0, gt=0)
    login_backoff_max_seconds: float = Field(default=900.0, gt=0)
    invitation_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=90 * 24 * 3600)
    signing_key_reload_seconds: float = Field(default=30.0, ge=0.1)
    identity_caller_cache_seconds: float = Field(default=30.0, ge=0, le=900)
    """How long identity trusts a remembered token check if no event says otherwise
    (0: check every request); see ``identity.callers``."""

    @model_validator(mode="after")
    def _at_least_owasp(self) -> IdentitySettings:
        # OWASP's floor for argon2id is m=19 MiB with t=2 (or more memory with t=1).
        if self.argon2_memory_kib * self.argon2_time_cost < OWASP_MIN_MEMORY_KIB * 2:
            raise ValueError(
                "argon2 parameters are below OWASP's minimum (m=19456 KiB, t=2, p=1); "
                "raise DEVGEN_ARGON2_MEMORY_KIB or DEVGEN_ARGON2_TIME_COST"
            )
        return self
