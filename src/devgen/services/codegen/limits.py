"""Checks on what a request carries, before any work starts: sizes, paths, specs, budgets.

Too much (bytes, files, entities) is a 413 naming the limit; malformed content is a 422
naming each offending place, e.g. ``files['../x.py']`` or ``entities[2].fields[0].type``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from devgen.kit.errors import PayloadTooLarge, ValidationFailed
from devgen.services.codegen.engines.llm import LLMSettings
from devgen.services.codegen.errors import InvalidSpec, invalid_spec
from devgen.services.codegen.files import path_problem
from devgen.services.codegen.schemas import BudgetIn
from devgen.services.codegen.settings import CodegenSettings
from devgen.services.codegen.spec import ServiceSpec, SpecValidationError, validate_spec


def _too_large(what: str, limit: int, actual: int, unit: str) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"The {what} is over the limit of {limit} {unit}.",
        details={"limit": limit, "actual": actual, "unit": unit},
    )


def check_requirement(text: str, settings: CodegenSettings) -> None:
    """413 when the requirement is longer than the service reads."""
    if len(text) > settings.codegen_max_requirement_chars:
        raise _too_large(
            "requirement", settings.codegen_max_requirement_chars, len(text), "characters"
        )


def check_spec(data: Mapping[str, Any], settings: CodegenSettings) -> ServiceSpec:
    """The validated spec; 413 when it is too big, 422 with every problem's path."""
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > settings.codegen_max_spec_bytes:
        raise _too_large("spec", settings.codegen_max_spec_bytes, size, "bytes")
    entities = data.get("entities")
    if isinstance(entities, list) and len(entities) > settings.codegen_max_entities:
        raise InvalidSpec(
            f"The spec has {len(entities)} entities; this server generates at most "
            f"{settings.codegen_max_entities}.",
            details={"problems": [{"path": "entities", "message": "too many entities"}]},
        )
    try:
        return validate_spec(dict(data))
    except SpecValidationError as exc:
        raise invalid_spec(exc) from None


def check_files(files: Mapping[str, str], settings: CodegenSettings) -> None:
    """413 for too many or too big files; 422 naming every path that is not a plain path."""
    if len(files) > settings.codegen_max_files:
        raise _too_large("project", settings.codegen_max_files, len(files), "files")
    total = 0
    errors = []
    for path, content in files.items():
        size = len(content.encode("utf-8", "surrogatepass"))
        total += size
        if size > settings.codegen_max_file_bytes:
            raise _too_large(f"file {path[:100]!r}", settings.codegen_max_file_bytes, size, "bytes")
        if (problem := path_problem(path)) is not None:
            errors.append({"location": f"files[{path[:100]!r}]", "message": problem})
        elif "\x00" in content:
            errors.append({"location": f"files[{path!r}]", "message": "contains a NUL byte"})
    if total > settings.codegen_max_project_bytes:
        raise _too_large("project", settings.codegen_max_project_bytes, total, "bytes")
    if not files:
        errors.append({"location": "files", "message": "at least one file is needed"})
    if errors:
        raise ValidationFailed("Some files cannot be accepted.", details={"errors": errors})


def check_budget(budget: BudgetIn | None, settings: LLMSettings) -> BudgetIn:
    """The budget asked for, refused (422) above the server's ceilings."""
    budget = budget or BudgetIn()
    errors = []
    if budget.max_tokens is not None and budget.max_tokens > settings.llm_max_budget_tokens:
        errors.append(
            {
                "location": "budget.max_tokens",
                "message": f"at most {settings.llm_max_budget_tokens}",
            }
        )
    if budget.max_cost_usd is not None and budget.max_cost_usd > settings.llm_max_budget_usd:
        errors.append(
            {"location": "budget.max_cost_usd", "message": f"at most {settings.llm_max_budget_usd}"}
        )
    if errors:
        raise ValidationFailed(
            "The budget is above this server's limits.", details={"errors": errors}
        )
    return budget
