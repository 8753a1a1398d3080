"""Labels: small key/value pairs a client attaches to a file to find it again.

Keys follow the Kubernetes label-name shape (lower case letters, digits and
``.-_``, starting and ending with a letter or digit, at most 63 characters),
so they are safe in URLs, logs and query strings. Values are a single line
of at most 256 characters.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from devgen.services.storage import strictjson

MAX_KEY_LENGTH = 63
MAX_VALUE_LENGTH = 256
KEY_PATTERN = r"^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$"
VALUE_PATTERN = r"^[^\x00-\x1f\x7f]{0,256}$"

_KEY = re.compile(KEY_PATTERN)
_VALUE = re.compile(VALUE_PATTERN)


class LabelError(ValueError):
    """A label that breaks the rules; the message says which and why."""


def check_label(key: str, value: str) -> None:
    """Raise ``LabelError`` unless ``key`` and ``value`` are acceptable."""
    if not _KEY.match(key):
        raise LabelError(
            f"label key {key[:80]!r} must be 1-63 lower-case letters, digits, '.', '-' or '_', "
            "starting and ending with a letter or digit"
        )
    if not _VALUE.match(value):
        raise LabelError(
            f"label {key!r}: the value must be one line of at most {MAX_VALUE_LENGTH} characters"
        )


def check_labels(labels: Mapping[str, str], max_labels: int) -> dict[str, str]:
    """``labels`` as a plain dict, after checking every pair and the count."""
    if len(labels) > max_labels:
        raise LabelError(f"at most {max_labels} labels are allowed, not {len(labels)}")
    for key, value in labels.items():
        check_label(key, value)
    return dict(labels)


def parse_labels_field(raw: str, max_labels: int) -> dict[str, str]:
    """Labels sent as a form field: a JSON object of strings, e.g. ``{"team": "core"}``."""
    try:
        parsed: Any = strictjson.loads(raw)
    except strictjson.DuplicateKeyError as exc:
        raise LabelError(f"labels: {exc}") from exc
    except ValueError as exc:
        raise LabelError('labels must be a JSON object such as {"team": "core"}') from exc
    if not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values()):
        raise LabelError('labels must be a JSON object of strings such as {"team": "core"}')
    return check_labels(parsed, max_labels)


def parse_label_filter(raw: str) -> tuple[str, str | None]:
    """A ``label`` query filter: ``key=value`` (that value) or ``key`` (any value)."""
    key, sep, value = raw.partition("=")
    check_label(key, value if sep else "")
    return key, value if sep else None
