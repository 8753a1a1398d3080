"""Strings that match a field's ``pattern``, for the generated tests' sample data.

The generated factory needs valid values of a pattern field, distinct from row to row, and
the invalid-data test needs one that does not match. Python's own regex parser reads the
pattern; the walk picks characters and repeat counts from a seed, so seeds give different
strings. Every result is checked with ``re.fullmatch``; constructs the walk cannot honour
(lookarounds, backreferences) simply yield fewer examples.
"""

from __future__ import annotations

import re
import string
from typing import Any

try:  # Python 3.11+
    from re import _constants as _c  # type: ignore[attr-defined]
    from re import _parser as _p  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _c  # type: ignore[no-redef]
    import sre_parse as _p  # type: ignore[no-redef]

_CATEGORIES = {
    _c.CATEGORY_DIGIT: string.digits,
    _c.CATEGORY_NOT_DIGIT: string.ascii_letters,
    _c.CATEGORY_WORD: string.ascii_letters + string.digits + "_",
    _c.CATEGORY_NOT_WORD: " -.,",
    _c.CATEGORY_SPACE: " ",
    _c.CATEGORY_NOT_SPACE: string.ascii_letters + string.digits,
}
_PRINTABLE = string.ascii_letters + string.digits + " -_.,:/@#"
_MAX_REPEAT = 8


class _Seed:
    def __init__(self, value: int) -> None:
        self.value = value

    def pick(self, count: int) -> int:
        if count <= 1:
            return 0
        index = self.value % count
        self.value //= count
        return index


def _class_chars(items: list[tuple[Any, Any]]) -> str:
    chars: list[str] = []
    negate = False
    for op, arg in items:
        if op is _c.NEGATE:
            negate = True
        elif op is _c.LITERAL:
            chars.append(chr(arg))
        elif op is _c.RANGE:
            low, high = arg
            chars.extend(chr(code) for code in range(low, min(high, low + 60) + 1))
        elif op is _c.CATEGORY:
            chars.extend(_CATEGORIES.get(arg, ""))
    if negate:
        return "".join(c for c in _PRINTABLE if c not in chars)
    return "".join(dict.fromkeys(chars))


def _walk(parsed: Any, seed: _Seed, groups: dict[int, str]) -> str:
    out = []
    for op, arg in parsed:
        if op is _c.LITERAL:
            out.append(chr(arg))
        elif op is _c.NOT_LITERAL:
            out.append(next(c for c in _PRINTABLE if ord(c) != arg))
        elif op is _c.ANY:
            out.append(_PRINTABLE[seed.pick(len(_PRINTABLE))])
        elif op is _c.IN:
            chars = _class_chars(arg)
            if chars:
                out.append(chars[seed.pick(len(chars))])
        elif op is _c.BRANCH:
            branches = arg[1]
            out.append(_walk(branches[seed.pick(len(branches))], seed, groups))
        elif op is _c.SUBPATTERN:
            group, *_, sub = arg
            text = _walk(sub, seed, groups)
            if group is not None:
                groups[group] = text
            out.append(text)
        elif op in (_c.MAX_REPEAT, _c.MIN_REPEAT, getattr(_c, "POSSESSIVE_REPEAT", None)):
            low, high, sub = arg
            high = min(high, low + _MAX_REPEAT) if high is not _c.MAXREPEAT else low + _MAX_REPEAT
            count = low + seed.pick(high - low + 1)
            out.extend(_walk(sub, seed, groups) for _ in range(count))
        elif op is _c.GROUPREF:
            out.append(groups.get(arg, ""))
        elif op is _c.CATEGORY:
            chars = _CATEGORIES.get(arg, "a")
            out.append(chars[seed.pick(len(chars))])
        # AT (anchors) and assertions produce no text.
    return "".join(out)


def examples(
    pattern: str, count: int, *, min_length: int = 0, max_length: int | None = None
) -> list[str]:
    """Up to ``count`` distinct strings that fully match ``pattern`` and fit the lengths."""
    compiled = re.compile(pattern)
    parsed = _p.parse(pattern)
    found: list[str] = []
    for seed in range(count * 40):
        text = _walk(parsed, _Seed(seed), {})
        fits = len(text) >= min_length and (max_length is None or len(text) <= max_length)
        if fits and compiled.fullmatch(text) and text not in found:
            found.append(text)
            if len(found) == count:
                break
    return found


def counterexample(pattern: str) -> str | None:
    """A short string that does not match ``pattern``, or None if every candidate does."""
    compiled = re.compile(pattern)
    for candidate in ("!", "~~ ~~", "0", "a", "A", "", " ", "aa-00", "zz_99!"):
        if not compiled.fullmatch(candidate):
            return candidate
    return None
