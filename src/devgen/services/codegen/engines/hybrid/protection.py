"""What the model may write in a hybrid project, and the hashes that keep the rest as built.

The template's files (its service and its tests) are *protected*: their SHA-256 is taken
when they are generated, and no answer of the model may change or delete them. The model
writes only in designated places: extension modules ``app/extensions/<name>.py`` and their
tests ``tests/test_ext_<name>.py``; and even there it may not skip or deselect tests.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

EXTENSION_MODULE = re.compile(r"^app/extensions/(?P<name>[a-z][a-z0-9_]{0,40})\.py$")
EXTENSION_TEST = re.compile(r"^tests/test_ext_(?P<name>[a-z][a-z0-9_]{0,40})\.py$")
NAME = re.compile(r"^[a-z][a-z0-9_]{0,40}$")

# Ways a test module could switch tests off instead of passing them.
_SKIPPING = re.compile(
    r"pytest\.(?:mark\.)?(?:skip|skipif|xfail|importorskip)\b|collect_ignore|"
    r"pytest_collection_modifyitems|pytest_ignore_collect|pytest_runtest_setup|"
    r"__import__\(\s*['\"]tests\.|from tests\.test_(?!ext_)|import tests\.test_(?!ext_)"
)


def content_hash(content: str) -> str:
    """SHA-256 of a file's UTF-8 text."""
    return hashlib.sha256(content.encode()).hexdigest()


def hashes(files: Mapping[str, str]) -> dict[str, str]:
    """Path → content hash of every file."""
    return {path: content_hash(content) for path, content in sorted(files.items())}


def module_path(name: str) -> str:
    """Where extension ``name`` lives."""
    return f"app/extensions/{name}.py"


def test_path(name: str) -> str:
    """Where the tests of extension ``name`` live."""
    return f"tests/test_ext_{name}.py"


def extension_of(path: str) -> str | None:
    """The extension name a designated path belongs to, None for any other path."""
    match = EXTENSION_MODULE.match(path) or EXTENSION_TEST.match(path)
    return match.group("name") if match else None


@dataclass(frozen=True)
class Refusal:
    """A change the model asked for and did not get, and why."""

    path: str
    action: str  # "write" or "delete"
    reason: str

    def as_dict(self) -> dict[str, str]:
        """Plain data for the API and the report."""
        return {"path": self.path, "action": self.action, "reason": self.reason}


def check_write(
    path: str, content: str | None, *, protected: Mapping[str, str], allowed: set[str]
) -> Refusal | None:
    """Why writing ``content`` to ``path`` (None: deleting it) is refused, or None if it is not.

    ``allowed`` are the extension names this answer may touch.
    """
    action = "delete" if content is None else "write"
    if path in protected:
        if content is not None and content_hash(content) == protected[path]:
            return None  # the same bytes again: no change
        return Refusal(
            path, action, "protected: the template built this file and its tests stay as built"
        )
    name = extension_of(path)
    if name is None:
        return Refusal(
            path,
            action,
            "not a designated path: write app/extensions/<name>.py and tests/test_ext_<name>.py",
        )
    if name not in allowed:
        return Refusal(path, action, f"belongs to extension {name!r}, not to this sentence")
    if content is not None and EXTENSION_TEST.match(path) and _SKIPPING.search(content):
        return Refusal(path, action, "tests may not be skipped, deselected or expected to fail")
    return None


def broken_protection(files: Mapping[str, str], protected: Mapping[str, str]) -> list[str]:
    """Protected paths missing from ``files`` or with another content: each one a problem."""
    problems = []
    for path, digest in sorted(protected.items()):
        if path not in files:
            problems.append(f"{path}: deleted")
        elif content_hash(files[path]) != digest:
            problems.append(f"{path}: changed")
    return problems
