"""The spec's rule language: every kind loads, and every wrong rule is refused at its path."""

import copy
import json
from typing import Any

import pytest

from devgen.services.codegen.spec import (
    CompareRule,
    ManagedCode,
    ServiceSpec,
    SpecValidationError,
    StateMachineRule,
    spec_json_schema,
    validate_spec,
)


def _rental() -> dict[str, Any]:
    """A spec that uses every rule kind once, valid as written."""
    return {
        "name": "rentals",
        "auth": {"mode": "accounts", "roles": ["admin", "clerk"], "default_role": "clerk"},
        "entities": [
            {
                "name": "vehicle",
                "fields": [
                    {"name": "plate", "type": "string", "pattern": "^[A-Z0-9-]{2,10}$"},
                    {"name": "seats", "type": "integer", "min_value": 1, "max_value": 9},
                    {"name": "daily_price", "type": "decimal", "unit": "EUR"},
                    {"name": "description", "type": "text", "required": False},
                    {"name": "created_at", "type": "datetime", "managed": {"kind": "created_at"}},
                    {"name": "updated_at", "type": "datetime", "managed": {"kind": "updated_at"}},
                    {"name": "code", "type": "string", "managed": {"kind": "code", "length": 6}},
                    {"name": "views", "type": "integer", "managed": {"kind": "counter"}},
                ],
                "relations": [
                    {"name": "backup", "target": "vehicle", "required": False,
                     "on_delete": "set_null"},
                    {"name": "features", "target": "feature", "kind": "many_to_many"},
                ],
                "rules": [
                    {"kind": "search", "id": "vehicle.search.1",
                     "fields": ["plate", "description"]},
                    {"kind": "range", "id": "vehicle.range.1", "field": "daily_price"},
                    {"kind": "role_required", "id": "vehicle.role.1", "operations": ["delete"],
                     "roles": ["admin"]},
                    {"kind": "computed", "id": "vehicle.computed.1", "field": "rental_count",
                     "type": "integer", "op": "count", "child": "rental", "via": "vehicle"},
                ],
            },
            {"name": "feature", "fields": [{"name": "label", "type": "string"}]},
            {
                "name": "rental",
                "owned": True,
                "fields": [
                    {"name": "pickup", "type": "date"},
                    {"name": "dropoff", "type": "date"},
                    {"name": "days", "type": "integer"},
                    {"name": "returned_at", "type": "datetime", "required": False},
                    {"name": "status", "type": "enum", "default": "draft",
                     "values": ["draft", "confirmed", "returned", "cancelled"]},
                    {"name": "number", "type": "integer",
                     "managed": {"kind": "sequence", "per": "vehicle"}},
                ],
                "relations": [{"name": "vehicle", "target": "vehicle"}],
                "rules": [
                    {"kind": "compare", "id": "rental.compare.1", "left": "dropoff", "op": "gt",
                     "right": "pickup", "source": "The drop-off is after the pickup."},
                    {"kind": "no_overlap", "id": "rental.no_overlap.1", "start": "pickup",
                     "end": "dropoff", "scope": ["vehicle"],
                     "where": {"field": "status", "op": "ne", "value": "cancelled"}},
                    {"kind": "unique_together", "id": "rental.unique.1",
                     "fields": ["vehicle", "pickup"],
                     "where": {"field": "returned_at", "op": "is_null"}},
                    {"kind": "count_limit", "id": "rental.count.1", "relation": "vehicle",
                     "max_field": "seats",
                     "where": {"field": "status", "op": "in", "value": ["draft", "confirmed"]}},
                    {"kind": "state_machine", "id": "rental.state.1", "field": "status",
                     "initial": "draft",
                     "transitions": [{"from": "draft", "to": ["confirmed", "cancelled"]},
                                     {"from": "confirmed", "to": ["returned"]}],
                     "terminal": ["returned", "cancelled"], "frozen": ["returned"],
                     "undeletable": ["confirmed", "returned"]},
                    {"kind": "computed", "id": "rental.computed.1", "field": "price",
                     "type": "integer", "op": "product", "terms": ["days", "days"]},
                ],
            },
        ],
        "not_implemented": [
            {"sentence": "Vehicles are cleaned after every rental.",
             "reason": "no rule kind describes a process",
             "suggestion": "say 'a rental has a cleaned flag'"}
        ],
    }  # fmt: skip


def _rules(spec: dict[str, Any], entity: int) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = spec["entities"][entity]["rules"]
    return rules


def _problems(data: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(data)
    return {p.path: p.message for p in caught.value.problems}


def test_every_rule_kind_loads_and_round_trips() -> None:
    spec = validate_spec(_rental())

    rental = spec.entities[2]
    kinds = {rule.kind for entity in spec.entities for rule in entity.rules}
    assert kinds == {"search", "range", "role_required", "computed", "compare", "no_overlap",
                     "unique_together", "count_limit", "state_machine"}  # fmt: skip
    machine = rental.rules_of("state_machine")[0]
    assert isinstance(machine, StateMachineRule)
    assert machine.allowed("draft") == ["confirmed", "cancelled"]
    assert isinstance(spec.entities[0].fields[6].managed, ManagedCode)
    assert spec.entities[0].relations[1].on_delete.value == "cascade"
    assert spec.entity("rental") is rental
    assert rental.owned
    assert isinstance(spec.rule("rental.compare.1"), CompareRule)
    dumped = json.loads(spec.canonical_json())
    assert dumped["entities"][2]["rules"][4]["transitions"][0]["from"] == "draft"
    assert validate_spec(dumped) == spec


def test_old_auth_required_reads_as_static_token() -> None:
    spec = validate_spec({"name": "old", "auth_required": True,
                          "entities": [{"name": "book", "fields": [
                              {"name": "title", "type": "string"}]}]})  # fmt: skip

    assert spec.auth.mode == "static_token"
    assert spec.auth_required is True
    assert "auth_required" not in json.loads(spec.canonical_json())


def test_accounts_mode_counts_as_auth_required() -> None:
    assert validate_spec(_rental()).auth_required is True


def test_unknown_rule_kind_is_reported_at_the_rule() -> None:
    data = _rental()
    _rules(data, 2)[0] = {"kind": "teleport", "id": "x.1"}

    problems = _problems(data)

    assert "entities[2].rules[0]" in problems
    assert "teleport" in problems["entities[2].rules[0]"]


def test_missing_rule_attribute_path_has_no_kind_tag() -> None:
    data = _rental()
    del _rules(data, 2)[0]["right"]

    assert list(_problems(data)) == ["entities[2].rules[0].right"]


def test_compare_with_unknown_field_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[0]["right"] = "pickup_date"

    problems = _problems(data)

    assert list(problems) == ["entities[2].rules[0].right"]
    assert "no field 'pickup_date' on rental" in problems["entities[2].rules[0].right"]


def test_compare_of_a_string_with_a_date_is_a_type_mismatch() -> None:
    data = _rental()
    data["entities"][2]["fields"].append({"name": "note", "type": "string"})
    _rules(data, 2)[0].update(left="pickup", right="note")

    problems = _problems(data)

    assert list(problems) == ["entities[2].rules[0].right"]
    assert "cannot compare" in problems["entities[2].rules[0].right"]


def test_compare_of_date_and_datetime_is_allowed() -> None:
    data = _rental()
    _rules(data, 2)[0].update(left="returned_at", right="pickup")

    validate_spec(data)


def test_range_on_a_boolean_is_refused() -> None:
    data = _rental()
    data["entities"][0]["fields"].append({"name": "electric", "type": "boolean"})
    _rules(data, 0)[1]["field"] = "electric"

    problems = _problems(data)

    assert "a range needs a number" in problems["entities[0].rules[1].field"]


def test_search_on_a_number_is_refused() -> None:
    data = _rental()
    _rules(data, 0)[0]["fields"] = ["plate", "seats"]

    assert list(_problems(data)) == ["entities[0].rules[0].fields[1]"]


def test_count_limit_max_field_must_be_an_integer_of_the_parent() -> None:
    data = _rental()
    _rules(data, 2)[3]["max_field"] = "daily_price"

    problems = _problems(data)

    assert "a limit is an integer" in problems["entities[2].rules[3].max_field"]


def test_count_limit_unknown_parent_field_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[3]["max_field"] = "capacity"

    assert "no field 'capacity' on vehicle" in _problems(data)["entities[2].rules[3].max_field"]


def test_count_limit_needs_exactly_one_limit() -> None:
    data = _rental()
    _rules(data, 2)[3]["max_count"] = 3

    assert list(_problems(data)) == ["entities[2].rules[3].max_count"]


def test_count_limit_relation_must_be_a_many_to_one_of_the_entity() -> None:
    data = _rental()
    _rules(data, 2)[3]["relation"] = "car"

    assert list(_problems(data)) == ["entities[2].rules[3].relation"]


def test_state_not_in_the_enum_is_refused_at_its_path() -> None:
    data = _rental()
    machine = _rules(data, 2)[4]
    machine["transitions"][1]["to"] = ["shipped"]
    machine["undeletable"] = ["archived"]

    problems = _problems(data)

    assert set(problems) == {"entities[2].rules[4].transitions[1].to[0]",
                             "entities[2].rules[4].undeletable[0]"}  # fmt: skip
    assert "'shipped' is not one of" in problems["entities[2].rules[4].transitions[1].to[0]"]


def test_initial_state_not_in_the_enum_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[4]["initial"] = "new"

    assert "state 'new'" in _problems(data)["entities[2].rules[4].initial"]


def test_state_machine_on_a_non_enum_field_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[4]["field"] = "days"

    assert "not an enum" in _problems(data)["entities[2].rules[4].field"]


def test_terminal_state_with_a_way_out_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[4]["terminal"] = ["confirmed"]

    assert "terminal" in _problems(data)["entities[2].rules[4].transitions[1].from"]


def test_computed_terms_must_be_numeric() -> None:
    data = _rental()
    _rules(data, 2)[5]["terms"] = ["days", "pickup"]

    assert "terms must be numbers" in _problems(data)["entities[2].rules[5].terms[1]"]


def test_computed_field_may_not_shadow_a_field() -> None:
    data = _rental()
    _rules(data, 2)[5]["field"] = "days"

    assert "already a field" in _problems(data)["entities[2].rules[5].field"]


def test_computed_over_unknown_child_is_refused() -> None:
    data = _rental()
    _rules(data, 0)[3]["child"] = "booking"

    assert list(_problems(data)) == ["entities[0].rules[3].child"]


def test_computed_via_must_point_back_at_the_entity() -> None:
    data = _rental()
    _rules(data, 0)[3]["via"] = "owner"

    assert list(_problems(data)) == ["entities[0].rules[3].via"]


def test_decimal_terms_need_a_decimal_result() -> None:
    data = _rental()
    data["entities"][2]["fields"].append({"name": "rate", "type": "decimal"})
    _rules(data, 2)[5]["terms"] = ["days", "rate"]

    assert list(_problems(data)) == ["entities[2].rules[5].type"]


def test_unique_together_needs_two_known_names() -> None:
    data = _rental()
    _rules(data, 2)[2]["fields"] = ["member"]

    problems = _problems(data)

    assert set(problems) == {"entities[2].rules[2].fields", "entities[2].rules[2].fields[0]"}


def test_condition_on_unknown_field_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[2]["where"] = {"field": "closed_at", "op": "is_null"}

    assert list(_problems(data)) == ["entities[2].rules[2].where.field"]


def test_condition_value_outside_the_enum_is_refused() -> None:
    data = _rental()
    _rules(data, 2)[1]["where"]["value"] = "void"

    assert "'void' is not one of" in _problems(data)["entities[2].rules[1].where.value"]


def test_no_overlap_scope_must_name_a_field_or_relation() -> None:
    data = _rental()
    _rules(data, 2)[1]["scope"] = ["car"]

    assert list(_problems(data)) == ["entities[2].rules[1].scope[0]"]


def test_no_overlap_on_text_fields_is_refused() -> None:
    data = _rental()
    data["entities"][2]["fields"].append({"name": "slot", "type": "string"})
    _rules(data, 2)[1]["end"] = "slot"

    assert "an interval needs numbers or dates" in _problems(data)["entities[2].rules[1].end"]


def test_duplicate_rule_ids_are_refused() -> None:
    data = _rental()
    _rules(data, 2)[1]["id"] = "rental.compare.1"

    assert "duplicate rule id" in _problems(data)["entities[2].rules[1].id"]


def test_managed_kind_must_fit_the_field_type() -> None:
    data = _rental()
    data["entities"][0]["fields"][4]["type"] = "date"

    problems = _problems(data)

    assert "must be of type datetime" in problems["entities[0].fields[4].managed.kind"]


def test_managed_sequence_per_must_be_a_relation() -> None:
    data = _rental()
    data["entities"][2]["fields"][5]["managed"]["per"] = "fleet"

    assert list(_problems(data)) == ["entities[2].fields[5].managed.per"]


def test_unknown_managed_kind_is_reported_at_managed() -> None:
    data = _rental()
    data["entities"][2]["fields"][5]["managed"] = {"kind": "uuid4"}

    assert list(_problems(data)) == ["entities[2].fields[5].managed"]


def test_invalid_pattern_is_refused() -> None:
    data = _rental()
    data["entities"][0]["fields"][0]["pattern"] = "^[A-Z"

    assert "regular expression" in _problems(data)["entities[0].fields[0].pattern"]


def test_many_to_many_must_cascade() -> None:
    data = _rental()
    data["entities"][0]["relations"][1]["on_delete"] = "restrict"

    assert list(_problems(data)) == ["entities[0].relations[1].on_delete"]


def test_required_self_reference_is_refused() -> None:
    data = _rental()
    data["entities"][0]["relations"][0].update(required=True, on_delete="restrict")

    assert list(_problems(data)) == ["entities[0].relations[0].required"]


def test_owned_and_roles_need_accounts_mode() -> None:
    data = _rental()
    data["auth"] = {"mode": "static_token"}

    problems = _problems(data)

    assert {"entities[2].owned", "entities[0].rules[2].roles"} <= set(problems)


def test_role_required_names_a_declared_role() -> None:
    data = _rental()
    _rules(data, 0)[2]["roles"] = ["manager"]

    assert list(_problems(data)) == ["entities[0].rules[2].roles[0]"]


def test_role_required_on_an_operation_the_entity_lacks_is_refused() -> None:
    data = _rental()
    data["entities"][0]["operations"] = ["list", "get", "create"]

    assert list(_problems(data)) == ["entities[0].rules[2].operations[0]"]


def test_default_role_must_be_a_role() -> None:
    data = _rental()
    data["auth"]["default_role"] = "guest"

    assert list(_problems(data)) == ["auth.default_role"]


def test_rule_problems_are_found_next_to_shape_errors() -> None:
    data = _rental()
    data["entities"][1]["fields"][0]["type"] = "strin"
    _rules(data, 2)[0]["right"] = "nowhere"

    assert {"entities[1].fields[0].type", "entities[2].rules[0].right"} <= set(_problems(data))


def test_direct_model_validate_refuses_a_bad_rule() -> None:
    data = _rental()
    _rules(data, 2)[0]["right"] = "nowhere"

    with pytest.raises(ValueError, match=r"entities\[2\]\.rules\[0\]\.right"):
        ServiceSpec.model_validate(data)


def test_json_schema_describes_the_rule_language() -> None:
    schema = spec_json_schema()

    defs = schema["$defs"]
    assert {"CompareRule", "StateMachineRule", "AuthSpec", "NotImplementedSentence"} <= set(defs)
    assert "from" in defs["Transition"]["properties"]
    assert "rules" in defs["EntitySpec"]["properties"]


def test_the_example_spec_is_not_changed_by_validation() -> None:
    data = _rental()
    before = copy.deepcopy(data)

    validate_spec(data)

    assert data == before
