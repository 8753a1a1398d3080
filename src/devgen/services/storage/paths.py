"""The rules every path inside an artifact follows, however the artifact arrived.

A path is relative, uses ``/`` between segments and means exactly one file
once extracted anywhere: no absolute paths, drive letters or backslashes, no
``.``/``..``/empty segments, no control characters, and no two paths that
would land on the same file on a case-insensitive file system or make one
path both a file and a directory. Paths are refused rather than normalised,
so what is stored is byte for byte what the client named.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MAX_PATH_LENGTH = 1024
MAX_SEGMENT_LENGTH = 255

_FORBIDDEN = re.compile(r"[\x00-\x1f\x7f\\]")
_DRIVE = re.compile(r"^[A-Za-z]:")


class PathError(ValueError):
    """A path that breaks the rules; ``path`` is the offending one (truncated)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path[:200]
        self.reason = reason
        super().__init__(f"{self.path!r}: {reason}")


def check_path(path: str) -> str:
    """``path`` if it is an acceptable relative file path, else ``PathError``."""
    if not path:
        raise PathError(path, "the path is empty")
    if len(path) > MAX_PATH_LENGTH:
        raise PathError(path, f"the path is longer than {MAX_PATH_LENGTH} characters")
    if _FORBIDDEN.search(path):
        raise PathError(path, "the path contains a backslash or a control character")
    if path.startswith("/") or _DRIVE.match(path):
        raise PathError(path, "the path must be relative")
    for segment in path.split("/"):
        if segment in {"", ".", ".."}:
            raise PathError(path, "the path has an empty, '.' or '..' segment")
        if len(segment) > MAX_SEGMENT_LENGTH:
            raise PathError(path, f"a path segment is longer than {MAX_SEGMENT_LENGTH} characters")
    return path


def check_paths(paths: Iterable[str]) -> list[str]:
    """Every path checked, then checked against the others; returned sorted."""
    seen: dict[str, str] = {}
    for path in paths:
        check_path(path)
        folded = path.casefold()
        if folded in seen:
            other = seen[folded]
            reason = "the path appears twice" if other == path else f"it clashes with {other!r}"
            raise PathError(path, reason + " (paths must differ ignoring case)")
        seen[folded] = path
    for folded, path in seen.items():
        parts = folded.split("/")
        for depth in range(1, len(parts)):
            parent = "/".join(parts[:depth])
            if parent in seen:
                raise PathError(path, f"{seen[parent]!r} is a file, so it cannot be a directory")
    return sorted(seen.values())
