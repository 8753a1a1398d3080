"""JSON parsing that refuses duplicate keys instead of silently keeping the last one.

``{"a.py": "x", "a.py": "y"}`` is valid JSON to most parsers, which keep one
of the two; for a project's file list that would lose a file without a word.
"""

from __future__ import annotations

import json
from typing import Any


class DuplicateKeyError(ValueError):
    """An object in the document names the same key twice."""

    def __init__(self, key: str) -> None:
        super().__init__(f"the key {key[:200]!r} appears more than once in one object")
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise DuplicateKeyError(key)
        result[key] = value
    return result


def loads(document: str | bytes) -> Any:
    """Parse ``document``; ``ValueError`` (``DuplicateKeyError`` for repeated keys) when bad."""
    return json.loads(document, object_pairs_hook=_no_duplicates)
