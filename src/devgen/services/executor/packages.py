"""Package requirements a client may ask an environment for, and the key of a set.

pip runs outside the sandbox, so what reaches its command line is held to a
narrow grammar: a project name, optional extras and version specifiers.
No URLs (``name @ https://...``), paths, options (``--index-url``), markers
or whitespace tricks: the package index is the machine's, never the client's.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable

MAX_PACKAGES = 100
MAX_REQUIREMENT_LENGTH = 200

_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?"
_VERSION = r"[A-Za-z0-9*+!._-]+"
_SPECIFIER = rf"(?:===|==|!=|~=|<=|>=|<|>){_VERSION}"
_REQUIREMENT = re.compile(
    rf"^(?P<name>{_NAME})"
    rf"(?:\[(?P<extras>{_NAME}(?:,{_NAME})*)\])?"
    rf"(?P<specifiers>{_SPECIFIER}(?:,{_SPECIFIER})*)?$"
)


class InvalidRequirement(ValueError):
    """A requirement outside the accepted grammar."""


def canonical_name(name: str) -> str:
    """PEP 503 normalisation: lower case, runs of ``-_.`` become one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def normalize(requirement: str) -> str:
    """The canonical spelling of one requirement, or :class:`InvalidRequirement`.

    ``Foo_Bar[b,a] >= 1.0`` becomes ``foo-bar[a,b]>=1.0``: spaces around
    operators are dropped, the name and extras normalised and sorted,
    specifiers sorted.
    """
    # Spaces may surround operators ("fastapi >= 0.115"); anywhere else they are refused.
    compact = re.sub(r"\s*([\[\],<>=!~])\s*", r"\1", requirement.strip())
    if not compact or len(compact) > MAX_REQUIREMENT_LENGTH:
        raise InvalidRequirement(f"{requirement[:60]!r}: empty or longer than 200 characters")
    match = _REQUIREMENT.match(compact)
    if match is None:
        raise InvalidRequirement(
            f"{requirement[:60]!r} is not `name[extras]<specifiers>` "
            "(URLs, paths, options and markers are not accepted)"
        )
    name = canonical_name(match["name"])
    extras = sorted({canonical_name(e) for e in (match["extras"] or "").split(",") if e})
    specifiers = sorted(s for s in re.split(",", match["specifiers"] or "") if s)
    return name + (f"[{','.join(extras)}]" if extras else "") + ",".join(specifiers)


def normalize_set(requirements: Iterable[str]) -> list[str]:
    """Each requirement normalised, duplicates removed, sorted; at most one entry per name."""
    normalized = sorted({normalize(r) for r in requirements})
    if len(normalized) > MAX_PACKAGES:
        raise InvalidRequirement(f"at most {MAX_PACKAGES} packages")
    names = [re.split(r"[\[<>=!~]", r, maxsplit=1)[0] for r in normalized]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InvalidRequirement(f"packages named more than once: {', '.join(duplicates)}")
    return normalized


def build_key(runtime: str, python: str, packages: list[str]) -> str:
    """The id of a build: equal runtime, interpreter version and package set, equal key."""
    canonical = json.dumps([runtime, python, packages], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
