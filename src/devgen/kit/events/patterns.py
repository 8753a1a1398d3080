"""Event-type patterns with RabbitMQ topic semantics, so both buses route alike.

Words are separated by dots; ``*`` matches exactly one word and ``#`` matches
zero or more. ``identity.#`` is everything identity emits, ``*.user.*`` every
user event, ``#`` everything.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"^(\*|#|[a-z0-9_]+)$")


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a valid topic pattern; ``ValueError`` otherwise."""
    words = pattern.split(".")
    if not pattern or len(pattern) > 255 or not all(_WORD.match(word) for word in words):
        raise ValueError(f"{pattern!r} is not a topic pattern (words, '*' and '#' between dots)")
    return pattern


def _match(pattern: tuple[str, ...], words: tuple[str, ...]) -> bool:
    if not pattern:
        return not words
    head, rest = pattern[0], pattern[1:]
    if head == "#":
        return any(_match(rest, words[skip:]) for skip in range(len(words) + 1))
    if not words:
        return False
    return (head == "*" or head == words[0]) and _match(rest, words[1:])


@lru_cache(maxsize=4096)
def matches(pattern: str, event_type: str) -> bool:
    """Whether ``event_type`` is routed to a binding with ``pattern``."""
    return _match(tuple(pattern.split(".")), tuple(event_type.split(".")))
