"""The ``Range`` request header (RFC 9110 §14), for one byte range.

``bytes=0-99`` (first hundred), ``bytes=100-`` (from 100 to the end),
``bytes=-100`` (last hundred). A header that is not a single, well-formed
byte range is ignored and the whole content is sent, as the RFC allows; a
well-formed range that starts past the end cannot be satisfied (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from devgen.kit.errors import DevgenError

_SINGLE = re.compile(r"^bytes=(\d{0,19})-(\d{0,19})$")


class RangeNotSatisfiable(DevgenError):
    """The requested range lies outside the content."""

    status_code = 416
    code = "RANGE_NOT_SATISFIABLE"
    default_message = "The requested range is outside the content."


@dataclass(frozen=True, slots=True)
class ByteRange:
    """Bytes ``start`` to ``end`` inclusive of content ``total`` bytes long."""

    start: int
    end: int
    total: int

    @property
    def length(self) -> int:
        """How many bytes the range holds."""
        return self.end - self.start + 1

    @property
    def content_range(self) -> str:
        """The ``Content-Range`` header of a 206 answer."""
        return f"bytes {self.start}-{self.end}/{self.total}"


def parse_range(header: str | None, total: int) -> ByteRange | None:
    """The range to send for ``header``, None for the whole content.

    Raises ``RangeNotSatisfiable`` (with ``Content-Range: bytes */total``)
    when a valid range does not overlap the content.
    """
    if not header:
        return None
    match = _SINGLE.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or total == 0:
            raise _unsatisfiable(total)
        return ByteRange(start=max(total - suffix, 0), end=total - 1, total=total)
    start = int(first)
    end = int(last) if last else total - 1
    if last and end < start:
        return None  # syntactically invalid: ignored, per the RFC
    if start >= total:
        raise _unsatisfiable(total)
    return ByteRange(start=start, end=min(end, total - 1), total=total)


def _unsatisfiable(total: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(
        f"The content is {total} bytes long; the requested range is outside it.",
        details={"size": total},
        headers={"Content-Range": f"bytes */{total}"},
    )
