"""Event-type patterns with RabbitMQ topic semantics, so both buses route alike.

Words are separated by dots; ``*`` matches exactly one word and ``#`` matches
zero or more. ``identity.#`` is everything identity emits, ``*.user.*`` every
user event, ``#`` everything.

Patterns can come from tenants (audit's level rules), so matching must not
depend on how hostile a pattern is. A pattern is compiled once into a
nondeterministic automaton whose states are the positions between its words,
held as the bits of one integer; matching moves every state at once, one
word at a time: time linear in the event type's words, whatever the pattern
(a backtracking matcher is exponential in repeated ``#``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

_WORD = re.compile(r"^(\*|#|[a-z0-9_]+)$")


def check_pattern(pattern: str) -> str:
    """``pattern`` if it is a valid topic pattern; ``ValueError`` otherwise."""
    words = pattern.split(".")
    if not pattern or len(pattern) > 255 or not all(_WORD.match(word) for word in words):
        raise ValueError(f"{pattern!r} is not a topic pattern (words, '*' and '#' between dots)")
    return pattern


def _words(pattern: str) -> tuple[str, ...]:
    # ``#.#`` matches what ``#`` does: runs of ``#`` collapse to one, so no
    # two ``#`` are adjacent and one epsilon step closes a set of states.
    words: list[str] = []
    for word in pattern.split("."):
        if not (word == "#" and words and words[-1] == "#"):
            words.append(word)
    return tuple(words)


@dataclass(frozen=True, slots=True)
class _Automaton:
    """A pattern as bit masks: bit ``i`` is "the first ``i`` words are matched"."""

    accept: int
    hashes: int
    stars: int
    literals: dict[str, int]

    def _closed(self, states: int) -> int:
        # A ``#`` may match no word: from before it, also after it.
        return states | ((states & self.hashes) << 1)

    def accepts(self, event_type: str) -> bool:
        states = self._closed(1)
        for word in event_type.split("."):
            moved = states & (self.stars | self.literals.get(word, 0))
            states = self._closed((moved << 1) | (states & self.hashes))
            if not states:
                return False
        return bool(states & self.accept)


@lru_cache(maxsize=4096)
def _compile(pattern: str) -> _Automaton:
    hashes = stars = 0
    literals: dict[str, int] = {}
    words = _words(pattern)
    for position, word in enumerate(words):
        bit = 1 << position
        if word == "#":
            hashes |= bit
        elif word == "*":
            stars |= bit
        else:
            literals[word] = literals.get(word, 0) | bit
    return _Automaton(accept=1 << len(words), hashes=hashes, stars=stars, literals=literals)


def matches(pattern: str, event_type: str) -> bool:
    """Whether ``event_type`` is routed to a binding with ``pattern``."""
    return _compile(pattern).accepts(event_type)


def overlaps(first: str, second: str) -> bool:
    """Whether some event type matches both patterns (``a.*`` and ``*.b`` do: ``a.b``).

    A walk over pairs of positions, one in each pattern: time proportional
    to the product of their lengths.
    """
    a, b = _words(first), _words(second)
    seen: set[tuple[int, int]] = set()
    todo = [(0, 0)]
    while todo:
        i, j = todo.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if (i, j) == (len(a), len(b)):
            return True
        x = a[i] if i < len(a) else None
        y = b[j] if j < len(b) else None
        if x == "#":
            todo.append((i + 1, j))
        if y == "#":
            todo.append((i, j + 1))
        if x is None or y is None:
            continue
        # Both patterns take the same next word: one word both accept.
        if x in ("*", "#") or y in ("*", "#") or x == y:
            todo.append((i if x == "#" else i + 1, j if y == "#" else j + 1))
    return False
