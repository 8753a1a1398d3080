"""Constrained string types for request schemas.

Every text field a client sends goes through one of these, so control
characters (NUL in particular, which PostgreSQL refuses) and oversized
values are turned away with a 422 before they reach a database.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CONTROL_OR_NEWLINE = re.compile(r"[\x00-\x1f\x7f]")


# Published in the JSON schema so clients (and schemathesis) know the rule;
# the validators below enforce it with a clearer message.
_SINGLE_LINE_PATTERN = {"pattern": "^[^\\x00-\\x1f\\x7f]*$"}
_TEXT_PATTERN = {"pattern": "^[^\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]*$"}


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


def _single_line(value: str) -> str:
    if _CONTROL_OR_NEWLINE.search(value):
        raise ValueError("must be a single line without control characters")
    return value


Name = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
    Field(json_schema_extra=_SINGLE_LINE_PATTERN),
    AfterValidator(_single_line),
]
"""A short, single-line human name (tenant, key, display name)."""

ShortText = Annotated[
    str,
    Field(max_length=1000, json_schema_extra=_SINGLE_LINE_PATTERN),
    AfterValidator(_single_line),
]
"""A single line of up to 1000 characters."""

LongText = Annotated[
    str,
    Field(max_length=100_000, json_schema_extra=_TEXT_PATTERN),
    AfterValidator(_no_control_characters),
]
"""Free text up to 100 000 characters; newlines and tabs allowed."""

Secret = Annotated[
    str,
    Field(min_length=8, max_length=1024, json_schema_extra=_SINGLE_LINE_PATTERN),
    AfterValidator(_single_line),
]
"""A password: 8 to 1024 characters, never truncated."""

Token = Annotated[
    str,
    Field(min_length=1, max_length=8192, json_schema_extra=_SINGLE_LINE_PATTERN),
    AfterValidator(_single_line),
]
"""An opaque or JWT credential sent in a body."""

PasswordAttempt = Annotated[str, Field(min_length=1, max_length=1024), AfterValidator(_single_line)]
"""A password typed at sign-in (no length policy, so nothing is revealed about it)."""
