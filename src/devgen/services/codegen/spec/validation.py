"""Validating a spec: the shape with pydantic, then every check that spans several fields.

:func:`validate_spec` reports *every* problem with its path, e.g. ``entities[2].fields[0].type``
or ``entities[1].rules[0].right``; one typo does not hide the rest.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from pydantic import TypeAdapter, ValidationError

from devgen.services.codegen.spec.checks import rule_problems
from devgen.services.codegen.spec.models import (
    ALL_OPERATIONS,
    MANAGED_KINDS,
    RULE_KINDS,
    AuthSpec,
    EntitySpec,
    FieldSpec,
    RelationSpec,
    Rule,
    ServiceSpec,
    UserStory,
)
from devgen.services.codegen.spec.problems import SpecProblem, SpecValidationError, format_path


def validate_spec(data: dict[str, Any]) -> ServiceSpec:
    """Validate ``data`` as a :class:`ServiceSpec`.

    Raises :class:`SpecValidationError` listing every problem, each with its path in the
    form ``entities[2].fields[0].type``.
    """
    if not isinstance(data, dict):
        raise SpecValidationError([SpecProblem("", "a spec must be a mapping (JSON object)")])
    try:
        spec = ServiceSpec.model_validate(data, context={"skip_rules": True})
    except ValidationError as exc:
        problems = _convert_pydantic_errors(exc)
        # Check the rules on the well-formed parts too, so one typo does not hide the rest.
        known = {(p.path, p.message) for p in problems}
        problems += [
            p for p in rule_problems(_partial_spec(data)) if (p.path, p.message) not in known
        ]
        raise SpecValidationError(problems) from None
    problems = list(rule_problems(spec))
    if problems:
        raise SpecValidationError(problems)
    return spec


def load_spec_text(text: str) -> ServiceSpec:
    """Parse a spec written as JSON or YAML and validate it (see :func:`validate_spec`)."""
    try:
        data = json.loads(text) if text.lstrip().startswith("{") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise SpecValidationError([SpecProblem("", f"not valid JSON or YAML: {exc}")]) from None
    return validate_spec(data)


def _convert_pydantic_errors(exc: ValidationError) -> list[SpecProblem]:
    messages: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        # Union members add their type name to the location (``default.str``); the user
        # wrote one value, so the path stops at the field and the alternatives are merged.
        loc = _user_location(error["loc"])
        message = error["msg"].removeprefix("Value error, ")
        found = messages.setdefault(format_path(loc), [])
        if message not in found:
            found.append(message)
    problems = []
    for path, found in messages.items():
        if len(found) > 1 and all(m.startswith("Input should be ") for m in found):
            options = [m.removeprefix("Input should be ") for m in found]
            message = "Input should be " + ", ".join(options[:-1]) + " or " + options[-1]
            problems.append(SpecProblem(path, message))
        else:
            problems.extend(SpecProblem(path, message) for message in found)
    return problems


def _user_location(loc: tuple[str | int, ...]) -> list[str | int]:
    """The location as the user wrote it: without union member names and rule kind tags."""
    kept: list[str | int] = []
    for position, part in enumerate(loc):
        if isinstance(part, str):
            if part in _UNION_MEMBER_TAGS or part.startswith(("list[", "union[")):
                continue
            # A discriminated union adds the tag: ``rules[0].compare.right``, ``managed.code``.
            previous = loc[position - 1] if position else None
            before = loc[position - 2] if position > 1 else None
            if part in RULE_KINDS and isinstance(previous, int) and before == "rules":
                continue
            if part in MANAGED_KINDS and previous == "managed":
                continue
        kept.append(part)
    return kept


def _partial_spec(data: dict[str, Any]) -> ServiceSpec:
    """The well-formed parts of ``data``; a malformed entity, field or relation becomes None.

    The rule checks skip the None entries, and list positions are kept so paths stay right.
    """
    raw_entities = data.get("entities")
    entities: list[EntitySpec | None] = []
    for raw in raw_entities if isinstance(raw_entities, list) else []:
        entities.append(_partial_entity(raw) if isinstance(raw, dict) else None)
    try:
        auth = AuthSpec.model_validate(data.get("auth", {}))
    except ValidationError:
        auth = AuthSpec.model_validate({})
    if data.get("auth_required") is True and auth.mode == "none":
        auth.mode = "static_token"
    return ServiceSpec.model_construct(
        name=data.get("name", ""),
        auth=auth,
        entities=entities,
        user_stories=_valid_items(_STORY, data.get("user_stories")),
        not_implemented=[],
    )


def _partial_entity(raw: dict[str, Any]) -> EntitySpec | None:
    name = raw.get("name")
    if not isinstance(name, str):
        return None
    parts: dict[str, TypeAdapter[Any]] = {"fields": _FIELD, "relations": _RELATION, "rules": _RULE}
    rest = {k: v for k, v in raw.items() if k not in parts}
    try:
        shell = EntitySpec.model_validate(rest)
    except ValidationError:
        shell = EntitySpec.model_construct(
            name=name,
            plural=None,
            operations=list(ALL_OPERATIONS),
            filters=[],
            sorting=[],
            owned=raw.get("owned") is True,
        )
    for part, adapter in parts.items():
        setattr(shell, part, _valid_items(adapter, raw.get(part)))
    return shell


def _valid_items(adapter: TypeAdapter[Any], raw: Any) -> list[Any]:
    items: list[Any] = []
    for item in raw if isinstance(raw, list) else []:
        try:
            items.append(adapter.validate_python(item))
        except ValidationError:
            items.append(None)
    return items


_FIELD: TypeAdapter[FieldSpec] = TypeAdapter(FieldSpec)
_RELATION: TypeAdapter[RelationSpec] = TypeAdapter(RelationSpec)
_RULE: TypeAdapter[Any] = TypeAdapter(Rule)  # type: ignore[arg-type]  # an Annotated union
_STORY: TypeAdapter[UserStory] = TypeAdapter(UserStory)
_UNION_MEMBER_TAGS = frozenset({"str", "int", "float", "bool", "none"})
