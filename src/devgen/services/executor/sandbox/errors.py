"""Errors the sandbox raises before or instead of running anything.

A program that misbehaves inside the sandbox is not an error: it is a verdict
in the :class:`~devgen.services.executor.sandbox.result.SandboxResult`.
"""

from __future__ import annotations

from typing import Any


class SandboxError(Exception):
    """Base class of every error raised by the sandbox library."""


class SandboxUnavailableError(SandboxError):
    """The host cannot provide the requested isolation (missing tool, no namespaces...)."""


class InvalidRequestError(SandboxError):
    """The request is malformed (e.g. a path escaping the workspace); nothing ran."""


class LimitExceededError(InvalidRequestError):
    """A requested limit is above the server maximum; nothing ran."""

    def __init__(self, message: str, *, fields: dict[str, tuple[Any, Any]]) -> None:
        super().__init__(message)
        self.fields = fields


class UnsafeModeRefusedError(SandboxError):
    """``mode="unsafe-none"`` was asked for in production."""
