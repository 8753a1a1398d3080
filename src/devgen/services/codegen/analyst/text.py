"""Splitting a requirement into sentences, and a sentence's list into items.

Lists need care: "a status that is one of open, in progress or closed, and a rating between
1 and 5" has commas and "and"s that do not separate fields. Such spans (``one of ...``,
``between X and Y``, parentheses) are swapped for placeholders before splitting and put back
in each item afterwards.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ABBREVIATIONS = {"e.g.": "for example", "i.e.": "that is", "etc.": "and so on", "vs.": "versus"}
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d+[.)])\s+")
_HEADING = re.compile(r"^\s*#+\s*(.+?)\s*#*\s*$")
# A sentence ends at . ! ? ; followed by a space or the end, but not inside a number (9.99).
_SENTENCE_END = re.compile(r"(?<!\d)[.!?;](?=\s|$)|(?<=\d)[.!?;](?=\s|$)")


@dataclass(frozen=True)
class Sentence:
    """One sentence: the text as written and its normalised lowercase form."""

    index: int
    original: str
    text: str
    heading: bool = False


def split_sentences(requirement: str) -> list[Sentence]:
    """Sentences in order; headings (``# Library``) and list bullets count as sentences."""
    pieces: list[tuple[str, bool]] = []
    paragraph: list[str] = []

    def flush() -> None:
        if paragraph:
            pieces.extend((part, False) for part in _split_paragraph(" ".join(paragraph)))
            paragraph.clear()

    for line in requirement.splitlines():
        heading = _HEADING.match(line)
        if heading:
            flush()
            pieces.append((heading.group(1), True))
        elif _BULLET.match(line):
            flush()
            pieces.extend((part, False) for part in _split_paragraph(_BULLET.sub("", line)))
        elif line.strip():
            paragraph.append(line.strip())
        else:
            flush()
    flush()
    return [
        Sentence(index, original, normalise(original), heading)
        for index, (original, heading) in enumerate(pieces)
    ]


def _split_paragraph(paragraph: str) -> list[str]:
    for abbreviation, replacement in _ABBREVIATIONS.items():
        paragraph = re.sub(re.escape(abbreviation), replacement, paragraph, flags=re.IGNORECASE)
    parts = _SENTENCE_END.split(paragraph)
    return [part.strip() for part in parts if part.strip()]


def normalise(text: str) -> str:
    """Lowercase, single spaces, straight quotes, no trailing punctuation."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u201c", '"')
    text = text.replace("\u201d", '"').replace("\u2013", "-").replace("\u2014", "-")
    text = re.sub(r"\s+", " ", text.strip().lower())
    return text.rstrip(".!?;: ")


_VALUE = r"[\w'-]+(?: (?!or\b|and\b)[\w'-]+){0,2}"
ENUM_CLAUSE = re.compile(rf"\bone of (?:{_VALUE}, )*{_VALUE},? or {_VALUE}")
_PROTECTED = [
    re.compile(r"\([^()]*\)"),
    # "one of open, in progress or closed" ends at the value after the "or".
    ENUM_CLAUSE,
    re.compile(r"\bbetween -?\d+(?:\.\d+)? and -?\d+(?:\.\d+)?"),
    re.compile(r"\bfrom -?\d+(?:\.\d+)? to -?\d+(?:\.\d+)?"),
]
_SPLIT = re.compile(r",\s*(?:and\s+|or\s+)?|\s+and\s+|\s+as well as\s+|\s+plus\s+")


def split_items(text: str) -> list[str]:
    """Split a list ("a title, an author and a year") into its items."""
    saved: list[str] = []

    def protect(match: re.Match[str]) -> str:
        saved.append(match.group(0))
        return f"\x00{len(saved) - 1}\x00"

    for pattern in _PROTECTED:
        text = pattern.sub(protect, text)
    items = [item.strip() for item in _SPLIT.split(text) if item.strip()]
    return [re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], item) for item in items]
