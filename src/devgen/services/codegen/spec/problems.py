"""What a refused spec reports: each problem with its path, e.g. ``entities[2].rules[0].right``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SpecProblem:
    """One problem found in a spec: where (``entities[0].fields[1].type``) and what."""

    path: str
    message: str


class SpecValidationError(ValueError):
    """A spec was refused; :attr:`problems` lists every problem found."""

    code = "INVALID_SPEC"
    status_code = 422

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {p.path or '<root>'}: {p.message}" for p in problems)
        super().__init__(f"invalid spec ({len(problems)} problem(s)):\n{lines}")

    def to_dict(self) -> list[dict[str, str]]:
        """The problems as plain data, e.g. for an API error's details."""
        return [{"path": p.path, "message": p.message} for p in self.problems]


def format_path(loc: Iterable[str | int]) -> str:
    """Turn a location tuple such as ``("entities", 2, "name")`` into ``entities[2].name``."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path


def duplicates(items: list[Any], path: str) -> Iterator[SpecProblem]:
    seen: set[Any] = set()
    for index, item in enumerate(items):
        if item in seen:
            yield SpecProblem(f"{path}[{index}]", f"duplicate {str(item)!r}")
        seen.add(item)
