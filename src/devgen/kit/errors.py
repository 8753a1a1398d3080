"""One way to fail: an error base class that knows its HTTP status and code.

Services raise these; one handler (``devgen.kit.exception_handlers``) renders
them in the error envelope. Endpoints list the ones they raise with
``error_responses`` so the OpenAPI document shows them.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field


class DevgenError(Exception):
    """Base of every error a client is meant to see."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    default_message: ClassVar[str] = "The server could not complete the request."

    def __init__(
        self,
        message: str | None = None,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.details = details or {}
        self.headers = headers or {}
        super().__init__(self.message)


class BadRequest(DevgenError):
    """The request is malformed in a way validation did not catch."""

    status_code = 400
    code = "BAD_REQUEST"
    default_message = "The request is not valid."


class Unauthorized(DevgenError):
    """No credential, or one that is not valid."""

    status_code = 401
    code = "UNAUTHORIZED"
    default_message = "A valid access token is required."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.headers.setdefault("WWW-Authenticate", 'Bearer realm="devgen"')


class Forbidden(DevgenError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "FORBIDDEN"
    default_message = "You do not have permission to do this."


class NotFound(DevgenError):
    """The resource does not exist, or belongs to another tenant."""

    status_code = 404
    code = "NOT_FOUND"
    default_message = "The resource was not found."


class Conflict(DevgenError):
    """The change clashes with the current state (duplicate, last owner, ...)."""

    status_code = 409
    code = "CONFLICT"
    default_message = "The request conflicts with the current state."


class PayloadTooLarge(DevgenError):
    """The body is larger than the endpoint accepts."""

    status_code = 413
    code = "PAYLOAD_TOO_LARGE"
    default_message = "The request body is too large."


class UnsupportedMediaType(DevgenError):
    """The body's type is not one the endpoint accepts."""

    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    default_message = "The content type is not supported."


class ValidationFailed(DevgenError):
    """The body parsed but its content breaks a rule."""

    status_code = 422
    code = "VALIDATION_ERROR"
    default_message = "The request did not pass validation."


class RateLimited(DevgenError):
    """Too many requests; the client should wait ``retry_after`` seconds."""

    status_code = 429
    code = "RATE_LIMITED"
    default_message = "Too many requests; retry later."

    def __init__(self, retry_after: int, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = max(1, int(retry_after))
        self.headers["Retry-After"] = str(self.retry_after)
        self.details.setdefault("retry_after_seconds", self.retry_after)


class ServiceUnavailable(DevgenError):
    """A dependency is down or the service is not ready."""

    status_code = 503
    code = "SERVICE_UNAVAILABLE"
    default_message = "The service is temporarily unavailable."


class ErrorBody(BaseModel):
    """The inside of the error envelope."""

    code: str = Field(examples=["NOT_FOUND"])
    message: str = Field(examples=["The resource was not found."])
    details: dict[str, Any] = Field(default_factory=dict)
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    """Every error response: ``{"error": {...}}``."""

    error: ErrorBody


_DESCRIPTIONS: dict[int, str] = {
    400: "Bad request",
    401: "Missing or invalid credentials",
    403: "Not allowed for this caller",
    404: "Not found (or owned by another tenant)",
    409: "Conflict with the current state",
    413: "Body too large",
    415: "Unsupported media type",
    422: "Validation failed",
    429: "Rate limited",
    500: "Internal error (details are logged, never returned)",
    503: "Service unavailable",
}


def error_responses(*errors: type[DevgenError] | int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the given errors, all in the error envelope."""
    statuses = sorted({e if isinstance(e, int) else e.status_code for e in errors})
    return {
        status: {"model": ErrorEnvelope, "description": _DESCRIPTIONS.get(status, "Error")}
        for status in statuses
    }
