"""Bytes in JSON: UTF-8 text when the bytes are valid UTF-8, base64 otherwise.

Used both ways: request files and stdin may be sent as either, and output
and collected files come back as text whenever that loses nothing, with an
``encoding`` field saying which.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

Encoding = Literal["utf-8", "base64"]


def encode(data: bytes) -> tuple[str, Encoding]:
    """``data`` as JSON-safe text, and how it was encoded."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode("ascii"), "base64"


def decode(content: str, encoding: Encoding) -> bytes:
    """The bytes a client sent; ``ValueError`` for base64 that is not."""
    if encoding == "utf-8":
        return content.encode("utf-8", "surrogatepass")
    try:
        return base64.b64decode(content.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise ValueError("content is not valid base64") from exc
