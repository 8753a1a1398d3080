"""Decide a file's content type from its first bytes, not from what the client claims.

Binary formats are recognised by their magic numbers. Anything else that
decodes as UTF-8 without control characters is text: the client may then
name a more precise text type (``text/csv``, ``application/yaml``), which is
kept only when it is one of the harmless text types below. Whatever cannot
be recognised is ``application/octet-stream``. A declared type that disagrees
with the bytes is ignored, so a stored file is never served as something it
is not (an "image" that is really HTML, say).
"""

from __future__ import annotations

import codecs

SNIFF_BYTES = 4096
"""How much of the start of a file is looked at."""

OCTET_STREAM = "application/octet-stream"
TEXT_PLAIN = "text/plain"
JSON = "application/json"

_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),  # an empty archive: only the end record
    (b"\x1f\x8b", "application/gzip"),
)

TEXT_TYPES: frozenset[str] = frozenset(
    {
        "text/plain",
        "text/markdown",
        "text/csv",
        "text/x-python",
        "text/x-toml",
        "application/json",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/x-ndjson",
    }
)
"""Declared types a text file may keep. Active content (HTML, SVG, JavaScript) is not here:
stored files are served from the API's own origin, so they are served as plain text."""

# Tab, line feed, form feed and carriage return are text; other C0 controls and DEL are not.
_CONTROL = frozenset(range(0x00, 0x20)) - {0x09, 0x0A, 0x0C, 0x0D} | {0x7F}
_CONTROL_BYTES = bytes(sorted(_CONTROL))
_JSON_START = frozenset("{[")


def _essence(declared: str | None) -> str:
    """``text/csv; charset=utf-8`` → ``text/csv``."""
    return (declared or "").split(";", 1)[0].strip().lower()


def _is_text(head: bytes, complete: bool) -> str | None:
    """The decoded start of ``head`` if it looks like UTF-8 text, else None."""
    # translate() deletes the control bytes in C; a shorter result means there were some.
    if len(head.translate(None, _CONTROL_BYTES)) != len(head):
        return None
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        # final=False tolerates a character cut in half at the end of the sniffed window.
        return decoder.decode(head, final=complete)
    except UnicodeDecodeError:
        return None


def sniff(head: bytes, declared: str | None = None, *, complete: bool = False) -> str:
    """The content type to store for a file starting with ``head``.

    ``complete`` says ``head`` is the whole file (so a truncated UTF-8
    sequence at its end is an error, not a cut). The empty file is
    ``application/octet-stream``.
    """
    for magic, content_type in _MAGIC:
        if head.startswith(magic):
            return content_type
    if not head:
        return OCTET_STREAM
    text = _is_text(head, complete)
    if text is None:
        return OCTET_STREAM
    wanted = _essence(declared)
    if wanted == JSON:
        return JSON if text.lstrip()[:1] in _JSON_START else TEXT_PLAIN
    if wanted in TEXT_TYPES:
        return wanted
    return JSON if text.lstrip()[:1] in _JSON_START else TEXT_PLAIN
