"""Property: every valid spec yields a project that compiles, passes ruff and its own tests.

Each example generates a project and runs its pytest suite in a subprocess, so the number of
examples is kept small; raise DEVGEN_PROPERTY_EXAMPLES to search harder locally.
"""

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import ServiceSpec, validate_spec
from tests.project_checks import check_project

ENTITY_NAMES = ["book", "person", "category", "box", "status_report", "order_line"]
FIELD_PREFIXES = ["label", "x", "a_long_field_name_that_wraps_the_line"]
ENUM_VALUES = ["a", "b", "open", "closed", "in_progress", "v2", "x-ray"]
DEFAULTS = {
    "date": "2024-05-01",
    "datetime": "2024-05-01T10:00:00+02:00",
    "uuid": "12345678-1234-5678-1234-567812345678",
    "email": "someone@example.com",
    "url": "https://example.com/x",
}
EXAMPLES = int(os.environ.get("DEVGEN_PROPERTY_EXAMPLES", "5"))


@st.composite
def fields(draw: st.DrawFn, index: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(
        ["string", "text", "integer", "decimal", "boolean", "date", "datetime", "uuid",
         "email", "url", "enum"]
    ))  # fmt: skip
    field: dict[str, Any] = {
        "name": f"{draw(st.sampled_from(FIELD_PREFIXES))}_{index}",
        "type": kind,
        "required": draw(st.booleans()),
    }
    # Unique fields need room for a few distinct rows, so small domains stay non-unique.
    uniqueable = kind not in {"boolean", "enum"}
    if kind == "string":
        field["max_length"] = draw(st.integers(1, 300))
        field["min_length"] = draw(st.none() | st.integers(0, field["max_length"]))
    elif kind == "text":
        field["max_length"] = draw(st.none() | st.integers(5, 500))
    elif kind in {"email", "url"}:
        field["max_length"] = draw(st.none() | st.integers(30, 400))
    elif kind == "integer":
        low = draw(st.none() | st.integers(-1000, 1000))
        high = draw(st.none() | st.integers(-1000, 1000))
        if low is not None and high is not None:
            low, high = min(low, high), max(low, high) + 200
        field["min_value"], field["max_value"] = low, high
    elif kind == "decimal":
        digits = draw(st.integers(4, 15))
        places = draw(st.integers(0, min(4, digits - 4)))  # room for the bound 500
        field["max_digits"], field["decimal_places"] = digits, places
        field["min_value"] = draw(st.none() | st.sampled_from([0, -5, 0.5]))
        field["max_value"] = draw(st.none() | st.sampled_from([500, 99.5]))
    elif kind == "enum":
        field["values"] = draw(st.lists(st.sampled_from(ENUM_VALUES), min_size=2, max_size=4,
                                        unique=True))  # fmt: skip
    field["unique"] = uniqueable and draw(st.booleans())
    if draw(st.booleans()):
        field["default"] = _default(field, draw)
    return field


def _default(field: dict[str, Any], draw: st.DrawFn) -> Any:
    kind = field["type"]
    if kind in DEFAULTS:
        return DEFAULTS[kind]
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "enum":
        return field["values"][-1]
    if kind in {"integer", "decimal"}:
        low, high = field.get("min_value"), field.get("max_value")
        # Whole numbers fit any number of decimal places.
        return next(v for v in (low, high, 1) if v is not None and float(v).is_integer())
    return "d" * max(1, field.get("min_length") or 0)


def _relations(draw: st.DrawFn, name: str, earlier: list[str]) -> list[dict[str, Any]]:
    relations = []
    # Required relations only point backwards, so they can never form a cycle.
    for target in [*earlier, name]:
        if not draw(st.booleans()):
            continue
        required = target != name and draw(st.booleans())
        choices = ["restrict", "cascade"] if required else ["restrict", "cascade", "set_null"]
        relations.append(
            {
                "name": f"ref_{target}",
                "target": target,
                "required": required,
                "on_delete": draw(st.sampled_from(choices)),
            }
        )
    return relations


@st.composite
def specs(draw: st.DrawFn) -> ServiceSpec:
    names = draw(st.lists(st.sampled_from(ENTITY_NAMES), min_size=1, max_size=3, unique=True))
    entities = []
    for position, name in enumerate(names):
        entity_fields = [draw(fields(i)) for i in range(draw(st.integers(0, 4)))]
        relations = _relations(draw, name, names[:position])
        operations = draw(
            st.lists(st.sampled_from(["list", "get", "create", "update", "delete"]),
                     min_size=1, unique=True)
        )  # fmt: skip
        field_names = [f["name"] for f in entity_fields]
        filterable = field_names + [r["name"] for r in relations]
        listed = "list" in operations
        entities.append(
            {
                "name": name,
                "fields": entity_fields,
                "relations": relations,
                "operations": operations,
                "filters": draw(st.lists(st.sampled_from(filterable), unique=True))
                if listed and filterable
                else [],
                "sorting": draw(st.lists(st.sampled_from(field_names), unique=True))
                if listed and field_names
                else [],
            }
        )
    return validate_spec(
        {"name": "random-service", "auth_required": draw(st.booleans()), "entities": entities}
    )


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=specs())
def test_any_valid_spec_generates_a_working_project(spec: ServiceSpec) -> None:
    project = generate(spec)
    for path, content in project.files.items():
        if path.endswith(".py"):
            compile(content, path, "exec")

    with tempfile.TemporaryDirectory(prefix="devgen-property-") as tmp:
        project.write(Path(tmp))
        check = check_project(Path(tmp), coverage=False)

    assert check.ok, f"{spec.model_dump_json(indent=1)}\n{check.output}"
    assert sorted(check.passed) == sorted(project.tests)
