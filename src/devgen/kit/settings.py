"""Settings shared by every service, split per concern.

Every class reads environment variables with the ``DEVGEN_`` prefix (and a
``.env`` file when present). They are validated when the process starts, so a
bad value stops it before it serves anything.
"""

from __future__ import annotations

import ipaddress
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32
"""The shortest service secret accepted (256 bits, as ``openssl rand -hex 32`` gives)."""


class Environment(StrEnum):
    """Where the process runs; production turns development conveniences into errors."""

    development = "development"
    test = "test"
    production = "production"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )


class CoreSettings(_Base):
    """What every process needs to know about itself."""

    env: Environment = Environment.development
    data_dir: Path = Path(".devgen")
    log_level: str = "INFO"
    log_format: str = Field(default="json", pattern="^(json|console)$")
    otel_exporter: str = Field(default="none", pattern="^(none|console|otlp)$")
    """Where spans go: nowhere, standard output, or OTLP/HTTP (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""

    @property
    def is_production(self) -> bool:
        """True when development conveniences must be refused."""
        return self.env is Environment.production


class DatabaseSettings(_Base):
    """Where each service keeps its data.

    ``database_url`` is a template: ``{service}`` is replaced by the service
    name and ``{data_dir}`` by the data directory, so one value gives every
    service its own database (SQLite file or PostgreSQL database).
    """

    database_url: str = "sqlite+aiosqlite:///{data_dir}/{service}.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    database_echo: bool = False

    def url_for(self, service: str, data_dir: Path) -> str:
        """The concrete SQLAlchemy URL of one service's database."""
        return self.database_url.replace("{service}", service).replace("{data_dir}", str(data_dir))

    @property
    def is_per_service(self) -> bool:
        """Whether the template gives each service a database of its own."""
        return "{service}" in self.database_url


class HttpSettings(_Base):
    """How the HTTP front behaves: CORS, limits on what a client may send."""

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    max_body_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    metrics_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"]
    )
    """Who may read ``/metrics`` in production (CIDRs); outside production, anyone."""

    @field_validator("cors_origins", "trusted_proxies", "metrics_allowed_networks", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("metrics_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for item in value:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError as exc:
                raise ValueError(f"{item!r} is not an address or network (CIDR)") from exc
        return value

    @property
    def metrics_networks(self) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
        """``metrics_allowed_networks`` parsed."""
        return [ipaddress.ip_network(item, strict=False) for item in self.metrics_allowed_networks]


class AuthSettings(_Base):
    """How access tokens are issued and checked."""

    jwt_issuer: str = "devgen-identity"
    jwt_audience: str = "devgen"
    access_token_ttl_seconds: int = Field(default=900, ge=30, le=86_400)
    refresh_token_ttl_seconds: int = Field(default=30 * 86_400, ge=300)
    jwks_cache_seconds: int = Field(default=300, ge=1)
    jwks_min_refetch_seconds: float = Field(default=1.0, ge=0)
    introspection_cache_seconds: float = Field(default=5.0, ge=0)
    service_secret: SecretStr | None = None
    """Shared by the platform's services to get service tokens. There is no default:
    the all-in-one generates one in its data directory, a service alone refuses to
    start without it."""
    service_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    key_encryption_key: SecretStr | None = None
    """Encrypts the private signing keys identity and audit keep in their databases
    (PKCS#8 with a password); empty keeps them unencrypted."""

    @field_validator("service_secret", "key_encryption_key", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        if value == "" or (isinstance(value, SecretStr) and not value.get_secret_value()):
            return None
        return value

    @field_validator("service_secret", "key_encryption_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        if value is not None and len(value.get_secret_value().encode()) < MIN_SECRET_BYTES:
            raise ValueError(
                f"DEVGEN_{str(info.field_name).upper()} must be at least {MIN_SECRET_BYTES} "
                "bytes; generate one with `openssl rand -hex 32`"
            )
        return value

    def require_service_secret(self) -> SecretStr:
        """The service secret, or ``ValueError`` saying how to set one."""
        if self.service_secret is None:
            raise ValueError(
                "DEVGEN_SERVICE_SECRET is not set: every service of a distributed "
                f"platform needs the same secret of at least {MIN_SECRET_BYTES} bytes "
                "(e.g. `openssl rand -hex 32`)"
            )
        return self.service_secret


class ServiceUrls(_Base):
    """Base URLs of the other services when they run as separate processes.

    Empty means "in this process" (all-in-one); the composition root then
    connects the client to the in-process app instead.
    """

    gateway_url: str = ""
    identity_url: str = ""
    profile_url: str = ""
    audit_url: str = ""
    storage_url: str = ""
    executor_url: str = ""
    codegen_url: str = ""
    orchestrator_url: str = ""

    def url_of(self, service: str) -> str:
        """The configured base URL of ``service`` ("" when in-process)."""
        return str(getattr(self, f"{service}_url", ""))


class ClientSettings(_Base):
    """Timeouts, retries and the circuit breaker of service-to-service calls."""

    client_timeout_seconds: float = Field(default=10.0, gt=0)
    client_connect_timeout_seconds: float = Field(default=3.0, gt=0)
    client_retry_attempts: int = Field(default=3, ge=1, le=10)
    client_breaker_failures: int = Field(default=5, ge=1)
    client_breaker_reset_seconds: float = Field(default=15.0, gt=0)
    """The longest a circuit stays open before a trial call (reached by doubling)."""
    client_breaker_first_reset_seconds: float = Field(default=1.0, gt=0)
    """How long a circuit that has just opened stays open before its first trial."""


class RateLimitSettings(_Base):
    """Rate limits the gateway applies (``limits`` notation, e.g. ``100/minute``)."""

    redis_url: str = ""
    rate_limit_enabled: bool = True
    rate_limit_per_token: str = "600/minute"  # noqa: S105 - a rate, not a secret
    rate_limit_per_address: str = "300/minute"
    rate_limit_auth: str = "20/minute"


class EventSettings(_Base):
    """The event bus, the outbox relay and the consumers (see docs/events.md)."""

    bus_url: str = Field(
        default="memory://",
        description="`memory://` (in-process) or `amqp://user:pass@host:5672/`.",
    )
    bus_prefix: str = Field(
        default="devgen",
        pattern=r"^[a-z][a-z0-9_.-]{0,63}$",
        description="Names the exchange (`<prefix>.events`) and queues (`<prefix>.<service>`).",
    )
    event_max_attempts: int = Field(default=5, ge=1, le=100)
    event_retry_base_seconds: float = Field(default=0.2, ge=0)
    event_prefetch: int = Field(default=200, ge=1, le=10_000)
    event_batch_size: int = Field(default=100, ge=1, le=1000)
    event_batch_wait_seconds: float = Field(default=0.01, ge=0, le=1)
    """How long a consumer waits for more events to fill a batch (throughput vs latency)."""
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    relay_max_backoff_seconds: float = Field(default=10.0, gt=0)
    outbox_keep_hours: float = Field(default=168.0, gt=0)
    dead_letter_poll_seconds: float = Field(default=2.0, gt=0)

    @field_validator("bus_url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("memory://", "amqp://", "amqps://")):
            raise ValueError("must start with memory://, amqp:// or amqps://")
        return value

    @property
    def is_memory(self) -> bool:
        """Whether events stay inside this process."""
        return self.bus_url.startswith("memory://")


class TlsSettings(_Base):
    """TLS of the process's server and of its calls to other services (mutual TLS).

    With a certificate and key the process serves HTTPS; with
    ``tls_require_client_cert`` too, it refuses any connection that does not
    present a certificate signed by ``tls_ca_file`` (mutual TLS). Its calls to
    the other services (``https://`` URLs) verify them against the same CA and
    present the same certificate.
    """

    tls_cert_file: Path | None = None
    tls_key_file: Path | None = None
    tls_ca_file: Path | None = None
    tls_require_client_cert: bool = False

    @field_validator("tls_cert_file", "tls_key_file", "tls_ca_file", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("tls_require_client_cert")
    @classmethod
    def _needs_the_rest(cls, value: bool, info: ValidationInfo) -> bool:
        data = info.data
        if value and not (data.get("tls_cert_file") and data.get("tls_key_file")):
            raise ValueError("needs DEVGEN_TLS_CERT_FILE and DEVGEN_TLS_KEY_FILE")
        if value and not data.get("tls_ca_file"):
            raise ValueError("needs DEVGEN_TLS_CA_FILE (the CA that signs the client certificates)")
        return value

    @property
    def serves_tls(self) -> bool:
        """Whether the server speaks HTTPS."""
        return self.tls_cert_file is not None and self.tls_key_file is not None


class Settings(_Base):
    """Every setting a process reads, grouped by concern."""

    core: CoreSettings = Field(default_factory=CoreSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    auth: AuthSettings = Field(default_factory=AuthSettings)
    urls: ServiceUrls = Field(default_factory=ServiceUrls)
    client: ClientSettings = Field(default_factory=ClientSettings)
    rate_limit: RateLimitSettings = Field(default_factory=RateLimitSettings)
    events: EventSettings = Field(default_factory=EventSettings)
    tls: TlsSettings = Field(default_factory=TlsSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
