"""The architect's file plan: which files the project has, what each is for, in what order.

The plan is JSON the model writes; :func:`parse_plan` validates it and raises an
:class:`OutputProblem` listing every problem, which is sent back to the model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from devgen.services.codegen.engines.llm.parsing import OutputProblem
from devgen.services.codegen.files import is_test_file, path_problem
from devgen.services.codegen.spec import format_path


class PlannedFile(BaseModel):
    """One file of the plan."""

    model_config = ConfigDict(extra="ignore")

    path: str = Field(min_length=1, max_length=255)
    purpose: str = Field(default="", max_length=2000)
    depends_on: list[str] = Field(default_factory=list, max_length=50)


class FilePlan(BaseModel):
    """The files to write, in the order to write them (dependencies first)."""

    model_config = ConfigDict(extra="ignore")

    files: list[PlannedFile] = Field(min_length=1)
    notes: str = Field(default="", max_length=4000)

    @property
    def paths(self) -> list[str]:
        """Every planned path, in order."""
        return [f.path for f in self.files]


PLAN_EXAMPLE: dict[str, Any] = {
    "files": [
        {"path": "app/__init__.py", "purpose": "package marker", "depends_on": []},
        {"path": "app/main.py", "purpose": "the FastAPI app and its routes", "depends_on": []},
        {"path": "tests/test_main.py", "purpose": "tests", "depends_on": ["app/main.py"]},
    ],
    "notes": "one sentence about the design",
}


def parse_plan(data: Any, *, max_files: int) -> FilePlan:
    """Validate the architect's JSON; every problem is listed with where it is."""
    try:
        plan = FilePlan.model_validate(data)
    except ValidationError as exc:
        lines = [f"{format_path(e['loc']) or '<root>'}: {e['msg']}" for e in exc.errors()]
        raise OutputProblem(_problems_message(lines)) from exc
    problems: list[str] = []
    if len(plan.files) > max_files:
        problems.append(f"files: at most {max_files} files, not {len(plan.files)}")
    seen: set[str] = set()
    for index, entry in enumerate(plan.files):
        if (problem := path_problem(entry.path)) is not None:
            problems.append(f"files[{index}].path: {problem}")
        if entry.path in seen:
            problems.append(f"files[{index}].path: {entry.path!r} is planned twice")
        seen.add(entry.path)
    for index, entry in enumerate(plan.files):
        for number, dependency in enumerate(entry.depends_on):
            if dependency not in seen:
                problems.append(
                    f"files[{index}].depends_on[{number}]: {dependency!r} is not in the plan"
                )
    python = [p for p in plan.paths if p.endswith(".py")]
    if not any(is_test_file(p) for p in python):
        problems.append("files: plan at least one pytest module (tests/test_*.py)")
    if not any(not is_test_file(p) for p in python):
        problems.append("files: plan at least one application module (app/*.py)")
    if problems:
        raise OutputProblem(_problems_message(problems))
    return plan


def _problems_message(lines: list[str]) -> str:
    return (
        "The file plan is not valid:\n"
        + "\n".join(f"- {line}" for line in lines)
        + ("\nReply with the corrected plan as one JSON object.")
    )
