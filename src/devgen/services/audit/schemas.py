"""Audit's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    field_validator,
    model_validator,
)

from devgen.kit.events.envelope import TYPE_PATTERN
from devgen.kit.events.patterns import check_pattern
from devgen.kit.types import ShortText

Outcome = Literal["success", "failure"]
Level = Literal["full", "summary", "none"]
ExportFormat = Literal["jsonl", "csv"]

MAX_LEVEL_RULES = 50
"""The most level rules a chain may have."""
MAX_PATTERN_LENGTH = 200
"""The longest pattern of a level rule, in characters."""

_Line = Annotated[ShortText, Field(max_length=200)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuditRecordRead(BaseModel):
    """One audit record, with its place and hashes in its tenant's chain."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    chain: str = Field(description="The tenant id, or `platform` for tenantless events.")
    seq: int
    event_id: str
    time: datetime = Field(
        description="When it happened: the event's time for events from the bus; audit's "
        "clock when a service wrote the record directly."
    )
    recorded_at: datetime = Field(description="When audit recorded it (audit's clock).")
    tenant_id: uuid.UUID | None
    actor: str | None = Field(examples=["user:5f0c…", "api_key:…", "service:orchestrator"])
    action: str = Field(examples=["identity.login.failed"])
    resource_type: str
    resource_id: str | None
    outcome: str
    source: str
    request_id: str | None
    trace_id: str | None = Field(
        None, description="W3C trace id of the request behind it; a run's records share one."
    )
    ip: str | None
    user_agent: str | None
    level: str
    data: dict[str, Any]
    prev_hash: str
    hash: str


_CLOCK_FIELDS = ("time", "occurred_at", "recorded_at", "reported_at")


class AuditEventCreate(_Strict):
    """A record a service writes directly (service tokens only).

    ``tenant_id`` must be the tenant the service token was minted for (none
    for a platform record); the record's time is audit's clock.
    """

    id: uuid.UUID | None = Field(
        default=None, description="The event id; writing the same id twice records it once."
    )
    action: str = Field(
        max_length=200, pattern=TYPE_PATTERN.pattern, examples=["storage.file.read"]
    )
    tenant_id: uuid.UUID | None = Field(
        default=None,
        description="The tenant of the service token; null (platform chain) for a token "
        "minted for no tenant.",
    )
    actor: _Line | None = None
    resource_type: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]{0,63}$")
    resource_id: _Line | None = None
    outcome: Outcome | None = None
    request_id: Annotated[ShortText, Field(max_length=128)] | None = None
    ip: Annotated[ShortText, Field(max_length=64)] | None = None
    user_agent: Annotated[ShortText, Field(max_length=512)] | None = None
    data: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _no_caller_clock(cls, value: Any) -> Any:
        # A caller's clock would let a forged or wrong write back-date a
        # record; audit stamps every record itself.
        if isinstance(value, dict):
            for name in _CLOCK_FIELDS:
                if name in value:
                    raise ValueError(
                        f"`{name}` is not accepted: audit records the time with its own clock"
                    )
        return value


class ChainBreak(BaseModel):
    """Where a chain stops being trustworthy, and why."""

    seq: int
    record_id: uuid.UUID | None = None
    reason: str


class ChainReport(BaseModel):
    """The result of walking one chain."""

    chain: str
    tenant_id: str | None
    records: int
    first_seq: int | None = None
    last_seq: int | None = None
    head_hash: str | None = None
    anchor_seq: int | None = Field(
        default=None, description="The last record retention pruned (the walk starts after it)."
    )
    checkpoints_verified: int
    broken: ChainBreak | None = None


class VerifyReport(BaseModel):
    """Whether every chain walked is intact."""

    valid: bool
    chains: list[ChainReport]


class CheckpointRead(BaseModel):
    """A signed checkpoint: verify ``signature`` over the canonical JSON of
    ``{chain, seq, hash, kind, created_at}`` with the key ``kid`` from the audit JWKS."""

    model_config = ConfigDict(from_attributes=True)

    chain: str
    seq: int
    hash: str
    kind: str
    created_at: datetime
    kid: str
    signature: str


class ReportRead(BaseModel):
    """Counts over a time range."""

    since: datetime | None
    until: datetime | None
    total: int
    by_action: dict[str, int]
    by_actor: dict[str, int]
    by_outcome: dict[str, int]
    failed_logins: int
    role_changes: int
    api_keys_created: int


class RetentionRead(BaseModel):
    """How long a tenant's records are kept."""

    chain: str
    days: int | None = Field(description="The tenant's choice; null uses the platform default.")
    effective_days: int


class RetentionUpdate(_Strict):
    """A tenant's retention in days (null: the platform default).

    At least ``DEVGEN_AUDIT_MIN_RETENTION_DAYS`` (30): a shorter one is refused.
    """

    days: StrictInt | None = Field(ge=1, le=36_500)


def _pattern(value: str) -> str:
    return check_pattern(value)


class LevelRule(_Strict):
    """How much of the events matching ``pattern`` is recorded."""

    pattern: Annotated[str, Field(max_length=MAX_PATTERN_LENGTH), AfterValidator(_pattern)] = Field(
        examples=["identity.login.*"]
    )
    level: Level


class LevelsRead(BaseModel):
    """A tenant's rules, first match wins; events no rule matches are recorded in full."""

    chain: str
    rules: list[LevelRule]


class LevelsUpdate(_Strict):
    """The new rules, in order."""

    rules: list[LevelRule] = Field(max_length=MAX_LEVEL_RULES)

    @field_validator("rules")
    @classmethod
    def _distinct(cls, rules: list[LevelRule]) -> list[LevelRule]:
        patterns = [rule.pattern for rule in rules]
        if len(set(patterns)) != len(patterns):
            raise ValueError("each pattern may appear once")
        return rules


class PrunedChain(BaseModel):
    """What one retention run removed from one chain."""

    chain: str
    pruned: int
    through_seq: int | None


class RetentionRun(BaseModel):
    """The result of running the retention job."""

    chains: list[PrunedChain]
