"""The CloudEvents 1.0 envelope every devgen event travels in.

Structured JSON mode: the attributes and ``data`` in one JSON document. Besides
the required attributes (``specversion id source type``) and the optional ones
devgen always sets (``time subject datacontenttype``), events carry these
extension attributes when known: ``tenantid``, ``actor``, ``requestid``,
``traceparent``, ``clientaddress`` and ``useragent``.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

SPEC_VERSION = "1.0"
CONTENT_TYPE = "application/cloudevents+json"
DATA_CONTENT_TYPE = "application/json"
MAX_EVENT_BYTES = 256 * 1024

TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*){2,}$")
"""``<service>.<entity>.<verb>`` (more segments allowed), lower case."""

_EXTENSIONS = {
    "tenantid": "tenant_id",
    "actor": "actor",
    "requestid": "request_id",
    "traceparent": "traceparent",
    "clientaddress": "client_address",
    "useragent": "user_agent",
}


class InvalidEvent(ValueError):
    """A message that is not a devgen CloudEvent; it can never be handled."""


def json_default(value: Any) -> Any:
    """``json.dumps`` ``default`` for the non-JSON values event data may hold."""
    # Events carry ids and plain values; these are the non-JSON types that
    # legitimately appear among them.
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not allowed in event data")


def format_time(value: datetime) -> str:
    """RFC 3339 in UTC with microseconds and ``Z``."""
    return value.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def check_type(event_type: str) -> str:
    """``event_type`` if it reads ``<service>.<entity>.<verb>``; ``ValueError`` otherwise."""
    if not TYPE_PATTERN.match(event_type) or len(event_type) > 200:
        raise ValueError(f"event type {event_type!r} is not <service>.<entity>.<verb>")
    return event_type


@dataclass(frozen=True, slots=True)
class Event:
    """One CloudEvent: what happened, to which resource, for whom, caused by whom.

    ``data`` holds ids and small values, never whole objects: a handler
    re-reads what it needs.
    """

    id: str
    type: str
    source: str
    time: datetime
    subject: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None
    actor: str | None = None
    request_id: str | None = None
    traceparent: str | None = None
    client_address: str | None = None
    user_agent: str | None = None

    @property
    def service(self) -> str:
        """The service that emitted the event (first segment of the type)."""
        return self.type.split(".", 1)[0]

    @property
    def entity(self) -> str:
        """The kind of resource the event is about (second segment of the type)."""
        return self.type.split(".")[1]

    @property
    def verb(self) -> str:
        """What happened to it (the rest of the type)."""
        return self.type.split(".", 2)[2]

    def to_cloudevent(self) -> dict[str, Any]:
        """The structured-mode JSON document (extensions only when set)."""
        document: dict[str, Any] = {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": self.source,
            "type": self.type,
            "time": format_time(self.time),
            "datacontenttype": DATA_CONTENT_TYPE,
        }
        if self.subject is not None:
            document["subject"] = self.subject
        for attribute, name in _EXTENSIONS.items():
            value = getattr(self, name)
            if value is not None:
                document[attribute] = value
        document["data"] = dict(self.data)
        return document

    def to_json(self) -> bytes:
        """The document as compact UTF-8 JSON."""
        return json.dumps(
            self.to_cloudevent(), separators=(",", ":"), ensure_ascii=False, default=json_default
        ).encode()

    @classmethod
    def from_cloudevent(cls, document: Mapping[str, Any]) -> Event:
        """Parse a structured-mode document; ``InvalidEvent`` when it is not a devgen event."""
        try:
            if document.get("specversion") != SPEC_VERSION:
                raise InvalidEvent("specversion must be 1.0")
            event_id, source, event_type = document["id"], document["source"], document["type"]
            if not all(isinstance(v, str) and v for v in (event_id, source, event_type)):
                raise InvalidEvent("id, source and type must be non-empty strings")
            check_type(event_type)
            raw_time = document.get("time")
            time = (
                datetime.fromisoformat(raw_time.replace("Z", "+00:00"))
                if isinstance(raw_time, str)
                else datetime.now(UTC)
            )
            if time.tzinfo is None:
                raise InvalidEvent("time must carry a timezone")
            data = document.get("data") or {}
            if not isinstance(data, dict):
                raise InvalidEvent("data must be a JSON object")
            extensions = {}
            for attribute, name in _EXTENSIONS.items():
                value = document.get(attribute)
                if value is not None and not isinstance(value, str):
                    raise InvalidEvent(f"{attribute} must be a string")
                extensions[name] = value
            subject = document.get("subject")
            if subject is not None and not isinstance(subject, str):
                raise InvalidEvent("subject must be a string")
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, InvalidEvent):
                raise
            raise InvalidEvent(str(exc)) from exc
        return cls(
            id=event_id,
            type=event_type,
            source=source,
            time=time.astimezone(UTC),
            subject=subject,
            data=data,
            **extensions,
        )

    @classmethod
    def from_json(cls, raw: bytes | str) -> Event:
        """Parse JSON bytes from the bus; ``InvalidEvent`` when they are not an event."""
        if len(raw) > MAX_EVENT_BYTES:
            raise InvalidEvent("the event is larger than 256 KiB")
        try:
            document = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise InvalidEvent(f"not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise InvalidEvent("not a JSON object")
        return cls.from_cloudevent(document)
