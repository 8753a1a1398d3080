"""Settings only storage reads: where blobs go, and how large uploads may be."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024

MULTIPART_OVERHEAD_BYTES = 1 * MIB
"""Room for the multipart framing and text fields around an upload's bytes."""


class BackendKind(StrEnum):
    """Where blob bytes live."""

    local = "local"
    s3 = "s3"


class _Base(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEVGEN_", env_file=".env", extra="ignore", frozen=True
    )


class S3Settings(_Base):
    """An S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...).

    Empty credentials fall back to boto's usual chain (environment, profile,
    instance role).
    """

    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = "us-east-1"
    s3_access_key_id: str = ""
    s3_secret_access_key: SecretStr = SecretStr("")
    s3_prefix: str = Field(default="", max_length=200, pattern=r"^([A-Za-z0-9._\-]+/)*$")
    s3_addressing_style: str = Field(default="auto", pattern="^(auto|path|virtual)$")
    s3_create_bucket: bool = False


class StorageSettings(_Base):
    """The backend and the limits on what clients may store."""

    storage_backend: BackendKind = BackendKind.local
    storage_dir: Path | None = Field(
        default=None,
        description="Root of local blobs and upload staging; default <DEVGEN_DATA_DIR>/storage.",
    )
    storage_max_file_bytes: int = Field(default=100 * MIB, ge=1024)
    storage_max_labels: int = Field(default=32, ge=0, le=256)
    storage_inline_max_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        le=MIB // 2,
        description="Uploaded files up to this size keep their bytes in the database row "
        "(one durable commit, no blob-store write); 0 sends every file to the blob store.",
    )
    storage_max_artifact_files: int = Field(default=2000, ge=1, le=100_000)
    storage_max_artifact_bytes: int = Field(
        default=50 * MIB, ge=1024, description="Total uncompressed size of an artifact's files."
    )
    storage_max_archive_bytes: int = Field(
        default=50 * MIB, ge=1024, description="Size of an uploaded zip."
    )
    storage_max_compression_ratio: int = Field(default=100, ge=2, le=10_000)
    s3: S3Settings = Field(default_factory=S3Settings)

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> StorageSettings:
        if self.storage_backend is BackendKind.s3 and not self.s3.s3_bucket:
            raise ValueError("DEVGEN_STORAGE_BACKEND=s3 needs DEVGEN_S3_BUCKET")
        return self

    def root(self, data_dir: Path) -> Path:
        """Where local blobs and staged uploads live."""
        return self.storage_dir or data_dir / "storage"

    @property
    def max_artifact_json_bytes(self) -> int:
        """How large a JSON artifact body may be: its files' text, escaped, and the manifest."""
        # JSON escaping grows text (quotes, backslashes, newlines); twice the limit leaves room.
        return self.storage_max_artifact_bytes * 2 + MULTIPART_OVERHEAD_BYTES

    @property
    def max_request_bytes(self) -> int:
        """The request-body cap the chassis applies to storage: the largest body any endpoint takes.

        Each endpoint enforces its own, exact limit while it streams the
        body; this outer cap only stops bodies no endpoint would accept.
        """
        largest_upload = max(self.storage_max_file_bytes, self.storage_max_archive_bytes)
        return max(largest_upload + MULTIPART_OVERHEAD_BYTES, self.max_artifact_json_bytes)
