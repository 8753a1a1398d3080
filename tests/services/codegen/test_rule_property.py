"""Property: a spec with any one rule (random types, bounds, operators) generates a project
whose own tests pass, including the rule's.

One rule per spec, so a failure points at one builder; raise DEVGEN_PROPERTY_EXAMPLES to
search harder locally.
"""

from __future__ import annotations

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

EXAMPLES = int(os.environ.get("DEVGEN_PROPERTY_EXAMPLES", "5"))


@st.composite
def _ordered_field(draw: st.DrawFn, name: str, kind: str) -> dict[str, Any]:
    field: dict[str, Any] = {"name": name, "type": kind, "required": draw(st.booleans())}
    if kind == "integer":
        low = draw(st.none() | st.integers(-50, 50))
        field["min_value"] = low
        field["max_value"] = draw(st.none() | st.integers(100, 10_000))
    elif kind == "decimal":
        field["decimal_places"] = draw(st.integers(0, 3))
        field["min_value"] = draw(st.none() | st.sampled_from([0, -5]))
    return field


@st.composite
def specs(draw: st.DrawFn) -> ServiceSpec:
    rule_kind = draw(
        st.sampled_from(["compare", "no_overlap", "unique_together", "count_limit", "search",
                         "range", "managed"])
    )  # fmt: skip
    family = draw(st.sampled_from(["date", "datetime", "integer", "decimal"]))
    first = draw(_ordered_field("first_value", family))
    second = draw(_ordered_field("second_value", family))
    label = {"name": "label", "type": "string", "max_length": draw(st.integers(3, 80))}
    if draw(st.booleans()):
        label["max_length"] = max(label["max_length"], 12)  # room for the pattern's values
        label["pattern"] = draw(st.sampled_from([r"[a-z]{3,10}", r"[A-Z]{2}-\d{3}", r"x+"]))
    parent: dict[str, Any] = {
        "name": "holder",
        "fields": [{"name": "capacity", "type": "integer", "min_value": 0, "max_value": 50}],
    }
    relation = {"name": "holder", "target": "holder", "required": draw(st.booleans())}
    if not relation["required"]:
        relation["on_delete"] = "set_null"
    item: dict[str, Any] = {
        "name": "item",
        "fields": [label, first, second],
        "relations": [relation],
        "operations": draw(
            st.sampled_from([["list", "get", "create", "update", "delete"], ["list", "create"]])
        ),
    }
    rule: dict[str, Any] = {"kind": rule_kind, "id": f"item.{rule_kind}.1"}
    if rule_kind == "compare":
        rule |= {
            "left": "second_value",
            "op": draw(st.sampled_from(["lt", "le", "gt", "ge", "ne"])),
            "right": "first_value",
        }
    elif rule_kind == "no_overlap":
        rule |= {
            "start": "first_value",
            "end": "second_value",
            "scope": draw(st.sampled_from([[], ["holder"]])),
        }
    elif rule_kind == "unique_together":
        rule["fields"] = draw(
            st.sampled_from([["holder", "label"], ["first_value", "second_value"]])
        )
    elif rule_kind == "count_limit":
        rule["relation"] = "holder"
        if draw(st.booleans()):
            rule["max_count"] = draw(st.integers(1, 4))
        else:
            rule["max_field"] = "capacity"
    elif rule_kind == "search":
        rule["fields"] = ["label"]
    elif rule_kind == "range":
        rule["field"] = draw(st.sampled_from(["first_value", "second_value"]))
    else:
        kind = draw(st.sampled_from(["created_at", "updated_at", "code", "sequence", "counter"]))
        managed: dict[str, Any] = {"kind": kind}
        field_type = "datetime" if kind in {"created_at", "updated_at"} else "integer"
        if kind == "code":
            field_type, managed["length"] = "string", draw(st.integers(4, 12))
        if kind == "sequence" and draw(st.booleans()):
            managed["per"] = "holder"
        if kind == "counter":
            managed["start"] = draw(st.integers(0, 5))
        item["fields"].append({"name": f"auto_{kind}", "type": field_type, "managed": managed})
        rule = {}
    if rule:
        item["rules"] = [rule]
    return validate_spec({"name": "random-rules", "entities": [parent, item]})


@pytest.mark.slow
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(spec=specs())
def test_any_single_rule_generates_a_working_project(spec: ServiceSpec) -> None:
    project = generate(spec)

    with tempfile.TemporaryDirectory(prefix="devgen-rule-property-") as tmp:
        project.write(Path(tmp))
        check = check_project(Path(tmp), coverage=False)

    assert check.ok, f"{spec.model_dump_json(indent=1)}\n{check.output[-6000:]}"
    assert sorted(check.passed) == sorted(project.tests)
