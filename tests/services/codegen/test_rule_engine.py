"""What the template engine generates for rules: schemas, OpenAPI, README, the test plan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from devgen.services.codegen.engines import GeneratedProject, generate
from devgen.services.codegen.engines.rules.criteria import rule_stories
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import ServiceSpec, validate_spec

SPECS = Path(__file__).parent / "rule_specs"


def _spec(name: str, **changes: Any) -> ServiceSpec:
    data = json.loads((SPECS / f"{name}.json").read_text(encoding="utf-8"))
    return validate_spec({**data, **changes})


@pytest.fixture(scope="module")
def rentals() -> GeneratedProject:
    return generate(
        _spec(
            "rentals",
            not_implemented=[
                {
                    "sentence": "Invoices are emailed monthly.",
                    "reason": "sending email is not a rule kind",
                    "suggestion": "leave email to another system",
                }
            ],
        )
    )


def _schema(project: GeneratedProject, name: str) -> dict[str, Any]:
    return json.loads(project.files["openapi.json"])["components"]["schemas"][name]


def test_managed_fields_are_read_only(rentals: GeneratedProject) -> None:
    managed = {"created_at", "updated_at", "code", "views"}

    assert managed <= set(_schema(rentals, "VehicleRead")["properties"])
    assert not managed & set(_schema(rentals, "VehicleCreate")["properties"])
    assert not managed & set(_schema(rentals, "VehicleUpdate")["properties"])
    assert _schema(rentals, "VehicleCreate")["additionalProperties"] is False


def test_units_are_metadata_and_patterns_must_match_in_full(rentals: GeneratedProject) -> None:
    create = _schema(rentals, "VehicleCreate")["properties"]
    customer = _schema(rentals, "CustomerCreate")["properties"]

    assert "price" in create
    assert "Unit: EUR." in json.dumps(create["price"])
    assert not any("eur" in name for name in create)
    assert customer["ref"]["pattern"] == r"^(?:[A-Z]{3}-\d{4})\Z"


def test_list_queries_and_the_counter_route_are_in_the_api(rentals: GeneratedProject) -> None:
    paths = json.loads(rentals.files["openapi.json"])["paths"]
    params = {p["name"] for p in paths["/vehicles"]["get"]["parameters"]}

    assert {"q", "price_min", "price_max"} <= params
    assert "post" in paths["/vehicles/{vehicle_id}/views/increment"]


def test_each_rule_is_one_marked_function_and_has_tests_named_for_it(
    rentals: GeneratedProject,
) -> None:
    rules_py = rentals.files["app/rules.py"]
    spec = _spec("rentals")
    for entity in spec.entities:
        for rule in entity.rules:
            function = rule.id.replace(".", "_")
            assert f"# rule: {rule.id}\ndef {function}(" in rules_py
            assert f"# end rule: {rule.id}\n" in rules_py
            tests = [t for t in rentals.tests if t.split("::")[-1].startswith(f"test_{function}_")]
            assert tests, rule.id
            assert all(t.startswith(f"tests/test_rules_{entity.name}.py::") for t in tests)


def test_the_readme_lists_rules_and_sentences_not_implemented(rentals: GeneratedProject) -> None:
    readme = rentals.files["README.md"]

    assert "## Rules" in readme
    assert "| `rental.no_overlap.1` |" in readme
    assert "`test_rental_no_overlap_1_allows_touching_intervals`" in readme
    assert "“Invoices are emailed monthly.” — sending email is not a rule kind" in readme
    assert "| `views` | integer | set by the service, read-only |" in readme


def test_rule_tests_are_planned_with_their_rule_and_criterion() -> None:
    spec = _spec("library")
    planned = [t for t in plan_tests(spec) if t.rule_id == "loan.count_limit.1"]

    assert planned
    assert {t.criterion for t in planned} == {"AC-loan.count_limit.1"}
    stories = {s.id: s for s in rule_stories(spec)}
    criterion = next(
        c for c in stories["US-loan-rules"].acceptance_criteria if c.rule_id == "loan.count_limit.1"
    )
    assert criterion.test_ids == [t.node_id for t in planned]


def test_generation_with_rules_is_deterministic() -> None:
    first = generate(_spec("library"))
    again = generate(_spec("library"))

    assert first.files == again.files


def test_a_rule_the_engine_cannot_build_is_reported_not_dropped() -> None:
    spec = validate_spec(
        {
            "name": "slots",
            "entities": [
                {
                    "name": "slot",
                    "operations": ["create", "get"],
                    "fields": [{"name": "label", "type": "string"}],
                    "rules": [
                        {
                            "kind": "search",
                            "id": "slot.search.1",
                            "fields": ["label"],
                            "source": "Search slots by label.",
                        }
                    ],
                }
            ],
        }
    )

    project = generate(spec)

    assert "“Search slots by label.” — search filters a list" in project.files["README.md"]
    assert "slot_search_1" not in project.files["app/rules.py"]
    assert not any("test_rules_slot" in test for test in project.tests)
