"""The service spec: defaults, validation rules and the exact path of every problem."""

import json
from typing import Any

import pytest

from devgen.services.codegen.spec import (
    ServiceSpec,
    SpecValidationError,
    format_path,
    load_spec_text,
    pluralize,
    validate_spec,
)


def _spec(*entities: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"name": "library", "entities": list(entities), **extra}


def _book(**extra: Any) -> dict[str, Any]:
    return {"name": "book", "fields": [{"name": "title", "type": "string"}], **extra}


def _problems(data: Any) -> dict[str, str]:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(data)
    return {p.path: p.message for p in caught.value.problems}


def test_minimal_spec_gets_explicit_defaults() -> None:
    spec = validate_spec(_spec(_book(fields=[{"name": "title", "type": "string"},
                                             {"name": "price", "type": "decimal"},
                                             {"name": "contact", "type": "email"}])))  # fmt: skip

    book = spec.entities[0]
    assert spec.spec_version == "1"
    assert book.plural == "books"
    assert [op.value for op in book.operations] == ["list", "get", "create", "update", "delete"]
    assert book.fields[0].max_length == 255
    assert (book.fields[1].max_digits, book.fields[1].decimal_places) == (12, 2)
    assert book.fields[2].max_length == 320


def test_wrong_field_type_is_reported_at_its_path() -> None:
    data = _spec(_book(), {"name": "member"}, {"name": "loan", "fields": [
        {"name": "due", "type": "day"}]})  # fmt: skip

    problems = _problems(data)

    assert list(problems) == ["entities[2].fields[0].type"]
    assert "'string'" in problems["entities[2].fields[0].type"]


def test_every_problem_is_listed_structural_and_rules_together() -> None:
    data = _spec(
        {"name": "book", "fields": [{"name": "title", "type": "strin"},
                                    {"name": "id", "type": "string"}],
         "relations": [{"name": "shelf", "target": "shelf"}], "filters": ["genre"]},
        name="Not A Slug",
    )  # fmt: skip

    problems = _problems(data)

    assert set(problems) == {
        "name",
        "entities[0].fields[0].type",
        "entities[0].fields[1].name",
        "entities[0].relations[0].target",
        "entities[0].filters[0]",
    }
    assert "slug" in problems["name"]
    assert "reserved" in problems["entities[0].fields[1].name"]
    assert "unknown entity 'shelf'" in problems["entities[0].relations[0].target"]


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("class", "Python keyword"),
        ("select", "SQL keyword"),
        ("id", "reserved by the generated code"),
        ("total", "reserved by the generated code"),
        ("model_name", "reserved by the generated code"),
        ("Title", "snake_case"),
        ("two__underscores", "snake_case"),
    ],
)
def test_reserved_or_malformed_field_names_are_refused(name: str, fragment: str) -> None:
    problems = _problems(_spec(_book(fields=[{"name": name, "type": "string"}])))

    assert fragment in problems["entities[0].fields[0].name"]


@pytest.mark.parametrize("name", ["class", "app", "session", "models"])
def test_reserved_entity_names_are_refused(name: str) -> None:
    assert "entities[0].name" in _problems(_spec({"name": name}))


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ({"type": "integer", "default": "3"}, "must be a number"),
        ({"type": "integer", "default": 1.5}, "whole number"),
        ({"type": "integer", "default": 11, "max_value": 10}, "above max_value"),
        ({"type": "decimal", "default": 1.234}, "decimal places"),
        ({"type": "boolean", "default": "yes"}, "true or false"),
        ({"type": "string", "default": "abcdef", "max_length": 3}, "longer than max_length"),
        ({"type": "date", "default": "31/12/2024"}, "not a valid date"),
        ({"type": "uuid", "default": "nope"}, "not a valid uuid"),
        ({"type": "email", "default": "nobody"}, "not an email"),
        ({"type": "url", "default": "ftp://x"}, "not an http(s) URL"),
        ({"type": "enum", "values": ["a", "b"], "default": "c"}, "not one of"),
    ],
)
def test_default_must_fit_the_field(field: dict[str, Any], message: str) -> None:
    problems = _problems(_spec(_book(fields=[{"name": "value", **field}])))

    assert message in problems["entities[0].fields[0].default"]


@pytest.mark.parametrize(
    ("field", "path", "message"),
    [
        ({"type": "enum"}, "values", "at least two values"),
        ({"type": "enum", "values": ["a", "A b"]}, "values[1]", "lowercase"),
        ({"type": "enum", "values": ["a", "a"]}, "values[1]", "duplicate"),
        ({"type": "string", "values": ["a", "b"]}, "values", "enum fields only"),
        ({"type": "integer", "max_length": 3}, "max_length", "string, text, email and url"),
        ({"type": "string", "min_value": 1}, "min_value", "integer and decimal only"),
        ({"type": "integer", "min_value": 5, "max_value": 5}, "max_value", "greater than"),
        ({"type": "integer", "min_value": 0.5}, "min_value", "whole number"),
        ({"type": "decimal", "max_digits": 4, "decimal_places": 4}, "decimal_places", "less"),
        ({"type": "boolean", "unique": True}, "unique", "cannot be unique"),
        ({"type": "string", "min_length": 5, "max_length": 2}, "min_length", "greater than"),
        ({"type": "email", "max_length": 10}, "max_length", "at least 30"),
        ({"type": "decimal", "max_digits": 4, "max_value": 100000}, "max_value", "digits"),
    ],
)
def test_field_limits_must_make_sense(field: dict[str, Any], path: str, message: str) -> None:
    problems = _problems(_spec(_book(fields=[{"name": "value", **field}])))

    assert message in problems[f"entities[0].fields[0].{path}"]


def test_relation_rules() -> None:
    data = _spec(
        _book(relations=[
            {"name": "shelf", "target": "shelf", "on_delete": "set_null"},
            {"name": "sequel", "target": "book"},
            {"name": "title", "target": "book", "required": False},
        ]),
        {"name": "shelf"},
    )  # fmt: skip

    problems = _problems(data)

    assert "required: false" in problems["entities[0].relations[0].on_delete"]
    assert "must be optional" in problems["entities[0].relations[1].required"]
    assert "clashes" in problems["entities[0].relations[2].name"]


def test_required_relation_cycle_is_refused() -> None:
    data = _spec(
        {"name": "a", "relations": [{"name": "b", "target": "b"}]},
        {"name": "b", "relations": [{"name": "c", "target": "c"}]},
        {"name": "c", "relations": [{"name": "a", "target": "a"}]},
    )

    problems = _problems(data)

    assert "a -> b -> c -> a" in problems["entities[0].relations"]


def test_optional_relation_breaks_a_cycle() -> None:
    data = _spec(
        {"name": "a", "relations": [{"name": "b", "target": "b", "required": False}]},
        {"name": "b", "relations": [{"name": "a", "target": "a"}]},
    )

    assert validate_spec(data).entities[1].relations[0].column == "a_id"


def test_filters_and_sorting_must_name_fields_and_need_list() -> None:
    data = _spec(
        _book(relations=[{"name": "shelf", "target": "shelf"}], filters=["shelf", "title"],
              sorting=["shelf", "title", "title"], operations=["get", "get"]),
        {"name": "shelf"},
    )  # fmt: skip

    problems = _problems(data)

    assert "no field 'shelf'" in problems["entities[0].sorting[0]"]
    assert "duplicate" in problems["entities[0].sorting[2]"]
    assert "duplicate" in problems["entities[0].operations[1]"]
    assert "need the list operation" in problems["entities[0].operations"]
    assert "entities[0].filters[0]" not in problems


def test_duplicate_names_and_class_clashes() -> None:
    data = _spec(
        _book(fields=[{"name": "title", "type": "string"}, {"name": "title", "type": "text"}]),
        {"name": "book"},
        {"name": "book_page"},
    )

    problems = _problems(data)

    assert "duplicate field name" in problems["entities[0].fields[1].name"]
    assert "duplicate entity name" in problems["entities[1].name"]
    assert "BookPage" in problems["entities[2].name"]


def test_user_story_ids_must_be_unique_and_entities_known() -> None:
    story = {"id": "US-1", "as_a": "user", "i_want": "x", "so_that": "y", "entity": "shelf",
             "acceptance_criteria": [{"id": "US-1", "text": "t"}]}  # fmt: skip

    problems = _problems(_spec(_book(), user_stories=[story]))

    assert "unknown entity" in problems["user_stories[0].entity"]
    assert "duplicate id" in problems["user_stories[0].acceptance_criteria[0].id"]


def test_union_errors_are_merged_into_one_problem() -> None:
    problems = _problems(_spec(_book(fields=[{"name": "x", "type": "string", "default": [1]}])))

    assert list(problems) == ["entities[0].fields[0].default"]
    assert "a valid string" in problems["entities[0].fields[0].default"]


def test_not_a_mapping_and_no_entities() -> None:
    assert _problems(["not", "a", "spec"]) == {"": "a spec must be a mapping (JSON object)"}
    assert "entities" in _problems({"name": "x", "entities": []})


def test_direct_model_validation_also_applies_the_rules() -> None:
    with pytest.raises(ValueError, match=r"entities\[0\]\.name: 'class' is a Python keyword"):
        ServiceSpec.model_validate(_spec({"name": "class"}))


def test_load_spec_text_reads_yaml_and_json_alike() -> None:
    data = _spec(_book())
    yaml_text = "name: library\nentities:\n  - name: book\n    fields:\n" \
        "      - {name: title, type: string}\n"  # fmt: skip

    assert load_spec_text(json.dumps(data)) == load_spec_text(yaml_text)


def test_load_spec_text_reports_syntax_errors() -> None:
    with pytest.raises(SpecValidationError) as caught:
        load_spec_text("{not json")

    assert caught.value.problems[0].path == ""
    assert "not valid JSON or YAML" in caught.value.problems[0].message


def test_error_serialises_its_problems() -> None:
    with pytest.raises(SpecValidationError) as caught:
        validate_spec(_spec({"name": "class"}))

    assert caught.value.to_dict() == [
        {"path": "entities[0].name", "message": "'class' is a Python keyword"}
    ]
    assert (caught.value.code, caught.value.status_code) == ("INVALID_SPEC", 422)


def test_canonical_json_ignores_key_order() -> None:
    data = _spec(_book(filters=["title"]), description="d", auth_required=True)
    reordered = json.loads(json.dumps(data, sort_keys=True))
    reordered["entities"][0] = dict(reversed(list(reordered["entities"][0].items())))

    assert validate_spec(data).canonical_json() == validate_spec(reordered).canonical_json()


def test_json_schema_export_describes_the_spec() -> None:
    schema = ServiceSpec.model_json_schema()

    assert schema["properties"]["spec_version"]["const"] == "1"
    assert set(schema["$defs"]) >= {"EntitySpec", "FieldSpec", "RelationSpec", "UserStory"}
    assert "enum" in schema["$defs"]["FieldType"]


@pytest.mark.parametrize(
    ("singular", "plural"),
    [("book", "books"), ("category", "categories"), ("box", "boxes"), ("day", "days"),
     ("person", "people"), ("line_item", "line_items"), ("status", "statuses")],
)  # fmt: skip
def test_pluralize(singular: str, plural: str) -> None:
    assert pluralize(singular) == plural


def test_format_path() -> None:
    assert format_path(("entities", 2, "fields", 0, "type")) == "entities[2].fields[0].type"
    assert format_path(()) == ""
