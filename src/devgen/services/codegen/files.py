"""Rules for the file maps clients send and models write: ``{"app/main.py": "...", ...}``.

A path is relative, POSIX, made of plain names (letters, digits, ``_ . + -``): no
absolute paths, no ``..``, no backslashes or control characters, so a file map can be
written to a directory (or handed to the sandbox) without escaping it.
"""

from __future__ import annotations

import re

MAX_PATH_LENGTH = 255
MAX_DEPTH = 16
_SEGMENT = re.compile(r"^[A-Za-z0-9_.+-]{1,100}$")


def path_problem(path: str) -> str | None:
    """Why ``path`` cannot name a project file, or None when it can."""
    if not path:
        return "the path is empty"
    if len(path) > MAX_PATH_LENGTH:
        return f"the path is longer than {MAX_PATH_LENGTH} characters"
    if path.startswith("/") or re.match(r"^[A-Za-z]:", path):
        return "the path must be relative"
    if "\\" in path:
        return "use '/' to separate directories"
    segments = path.split("/")
    if len(segments) > MAX_DEPTH:
        return f"the path is deeper than {MAX_DEPTH} directories"
    for segment in segments:
        if segment in {"", ".", ".."}:
            return "the path has an empty, '.' or '..' part"
        if not _SEGMENT.match(segment):
            return (
                f"{segment[:40]!r} is not a plain name (letters, digits, '_', '.', '+', '-', "
                "at most 100 characters)"
            )
    return None


def is_test_file(path: str) -> bool:
    """Whether ``path`` is a pytest module or support file (``tests/...``, ``test_*.py``)."""
    name = path.rsplit("/", 1)[-1]
    return (
        path.startswith(("tests/", "test/"))
        or "/tests/" in path
        or name.startswith("test_")
        or name == "conftest.py"
    )
