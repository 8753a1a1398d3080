"""Profile's request and response models."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any

from pydantic import MISSING, AfterValidator, BaseModel, ConfigDict, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from devgen.services.profile.webhooks import MAX_WEBHOOK_URL_LENGTH, validate_webhook_url

AVATAR_PATH = "/api/v1/profiles/me/avatar"


class Theme(StrEnum):
    """How the console looks; `system` follows the operating system."""

    light = "light"
    dark = "dark"
    system = "system"


class Language(StrEnum):
    """Languages the console is offered in (BCP 47 primary language subtags)."""

    en = "en"
    fr = "fr"
    de = "de"
    es = "es"
    it = "it"
    pt = "pt"
    ja = "ja"
    zh = "zh"


class Engine(StrEnum):
    """Generation engines: the offline template engine, an LLM endpoint, or both (hybrid)."""

    template = "template"
    llm = "llm"
    hybrid = "hybrid"


class ProgrammingLanguage(StrEnum):
    """Languages devgen generates services in."""

    python = "python"


class Channel(StrEnum):
    """Where a notification goes; `none` turns it off."""

    email = "email"
    webhook = "webhook"
    none = "none"


class EventKind(StrEnum):
    """Events a user can be notified about."""

    run_completed = "run_completed"
    run_failed = "run_failed"
    security_alert = "security_alert"
    weekly_digest = "weekly_digest"


DEFAULT_CHANNELS: dict[EventKind, Channel] = {
    EventKind.run_completed: Channel.email,
    EventKind.run_failed: Channel.email,
    EventKind.security_alert: Channel.email,
    EventKind.weekly_digest: Channel.none,
}
"""What a user gets before choosing; every kind must have an entry."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


WebhookUrl = Annotated[
    str,
    Field(
        max_length=MAX_WEBHOOK_URL_LENGTH,
        # Published so clients see the rule; validate_webhook_url enforces the rest.
        pattern=r"^https://[^\x00-\x20\x7f\\]+$",
        examples=["https://hooks.example.com/devgen/3f9c"],
    ),
    AfterValidator(validate_webhook_url),
]
"""An https URL to a public host, at most 2048 characters."""


class ProfileUpdate(_Strict):
    """The preferences to change; fields left out keep their value, `null` is refused."""

    # MISSING (not None) marks "not sent": null is then just another wrong value,
    # and the published schema shows each field as its plain enum. mypy does not
    # know PEP 661 sentinels yet, hence the ignores.
    theme: Theme | MISSING = MISSING  # type: ignore[valid-type]
    language: Language | MISSING = MISSING  # type: ignore[valid-type]
    default_engine: Engine | MISSING = MISSING  # type: ignore[valid-type]
    default_programming_language: ProgrammingLanguage | MISSING = MISSING  # type: ignore[valid-type]


class AvatarRead(BaseModel):
    """The stored avatar's description; fetch the image itself from `url`."""

    model_config = ConfigDict(from_attributes=True)

    url: str = Field(default=AVATAR_PATH, examples=[AVATAR_PATH])
    content_type: str = Field(examples=["image/png"])
    width: int
    height: int
    size_bytes: int
    sha256: str = Field(description="SHA-256 of the stored bytes; also the ETag.")
    updated_at: datetime


class ProfileRead(BaseModel):
    """The caller's preferences."""

    user_id: uuid.UUID
    theme: Theme
    language: Language
    default_engine: Engine
    default_programming_language: ProgrammingLanguage
    avatar: AvatarRead | None
    created_at: datetime
    updated_at: datetime


class NotificationSettingUpdate(_Strict):
    """Where one kind of event goes; `webhook_url` is required for, and only for, webhooks."""

    channel: Channel
    webhook_url: WebhookUrl | SkipJsonSchema[None] = None

    @model_validator(mode="after")
    def _url_matches_channel(self) -> NotificationSettingUpdate:
        if self.channel is Channel.webhook and self.webhook_url is None:
            raise ValueError("webhook_url is required when channel is webhook")
        if self.channel is not Channel.webhook and self.webhook_url is not None:
            raise ValueError("webhook_url is only allowed when channel is webhook")
        return self


def _default(kind: EventKind) -> Any:
    return Field(default_factory=lambda: NotificationSettingUpdate(channel=DEFAULT_CHANNELS[kind]))


class NotificationSettingsUpdate(_Strict):
    """Every event kind's setting; a kind left out goes back to its default."""

    run_completed: NotificationSettingUpdate = _default(EventKind.run_completed)
    run_failed: NotificationSettingUpdate = _default(EventKind.run_failed)
    security_alert: NotificationSettingUpdate = _default(EventKind.security_alert)
    weekly_digest: NotificationSettingUpdate = _default(EventKind.weekly_digest)


class NotificationSettingRead(BaseModel):
    """Where one kind of event goes."""

    channel: Channel
    webhook_url: str | None


class NotificationSettingsRead(BaseModel):
    """Every event kind's setting."""

    run_completed: NotificationSettingRead
    run_failed: NotificationSettingRead
    security_alert: NotificationSettingRead
    weekly_digest: NotificationSettingRead
