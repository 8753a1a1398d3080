"""Storage's request and response models."""

from __future__ import annotations

import json
import re
import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from devgen.services.storage.labels import KEY_PATTERN, MAX_VALUE_LENGTH
from devgen.services.storage.paths import PathError, check_paths

MAX_SPEC_BYTES = 1024 * 1024
MAX_METADATA_BYTES = 64 * 1024

_SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"


def _json_size_at_most(limit: int) -> Any:
    def check(value: Any) -> Any:
        if value is not None and len(json.dumps(value, separators=(",", ":"))) > limit:
            raise ValueError(f"must be at most {limit} bytes as JSON")
        return value

    return AfterValidator(check)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_8601_only(value: Any) -> Any:
    # Pydantic would also read "1700000000" as a Unix time; a filter says what it means.
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("must be an ISO 8601 date-time with a time zone")
    return value


Instant = Annotated[AwareDatetime, BeforeValidator(_iso_8601_only)]
"""A moment in a query: ISO 8601 with a time zone, e.g. ``2025-01-31T12:00:00Z``."""

ArtifactName = Annotated[
    str, Field(min_length=1, max_length=255, pattern=_SINGLE_LINE, examples=["library-service"])
]
Spec = Annotated[
    dict[str, Any] | None,
    Field(description="The spec the project was generated from (JSON, at most 1 MiB)."),
    _json_size_at_most(MAX_SPEC_BYTES),
]
FreeMetadata = Annotated[
    dict[str, Any],
    Field(description="Anything else worth keeping with the artifact (JSON, at most 64 KiB)."),
    _json_size_at_most(MAX_METADATA_BYTES),
]
Labels = Annotated[
    dict[
        Annotated[str, Field(pattern=KEY_PATTERN, max_length=63)],
        Annotated[str, Field(max_length=MAX_VALUE_LENGTH, pattern=_SINGLE_LINE)],
    ],
    Field(examples=[{"team": "core", "kind": "report"}]),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FileRead(BaseModel):
    """A stored file's metadata."""

    id: uuid.UUID
    name: str
    content_type: str = Field(description="Decided from the bytes; see `declared_content_type`.")
    declared_content_type: str | None = Field(description="What the client said, if anything.")
    size: int
    sha256: str
    owner_id: uuid.UUID | None
    labels: Labels
    created_at: datetime
    content_url: str = Field(description="Where to download the bytes (supports `Range`).")


class ArtifactManifestIn(_Strict):
    """What describes an artifact besides its files."""

    name: ArtifactName = "artifact"
    spec: Spec = None
    engine: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9._-]+$",
        examples=["template"],
    )
    generator_version: str | None = Field(
        default=None, min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$", examples=["0.1.0"]
    )
    run_id: uuid.UUID | None = Field(default=None, description="The orchestrator run it came from.")
    metadata: FreeMetadata = Field(default_factory=dict)


class ArtifactCreate(ArtifactManifestIn):
    """A generated project as JSON: relative file paths and their UTF-8 text."""

    files: dict[str, str] = Field(
        min_length=1,
        description="Relative paths (no `..`, no leading `/`) and each file's text.",
        examples=[{"app/main.py": "print('hello')\n", "README.md": "# Hello\n"}],
    )

    @field_validator("files")
    @classmethod
    def _safe_paths(cls, value: dict[str, str]) -> dict[str, str]:
        try:
            check_paths(value)
        except PathError as exc:
            raise ValueError(str(exc)) from exc
        return value


class ArtifactFileRead(BaseModel):
    """One file of an artifact."""

    path: str
    size: int
    sha256: str
    content_type: str


class ArtifactSummary(BaseModel):
    """An artifact as lists show it."""

    id: uuid.UUID
    name: str
    engine: str | None
    generator_version: str | None
    run_id: uuid.UUID | None
    owner_id: uuid.UUID | None
    file_count: int
    total_size: int = Field(description="Sum of the files' sizes, uncompressed.")
    archive_sha256: str = Field(description="SHA-256 of the zip: equal for equal projects.")
    archive_size: int
    created_at: datetime
    download_url: str


class ArtifactRead(ArtifactSummary):
    """An artifact's manifest: its files with their hashes, and what produced it."""

    spec: dict[str, Any] | None
    metadata: dict[str, Any]
    files: list[ArtifactFileRead]
