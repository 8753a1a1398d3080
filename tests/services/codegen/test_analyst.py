"""The requirement analyst: inference rules, relations, the unparsed report and errors."""

import json
from typing import Any

import pytest

from devgen.services.codegen.analyst import AnalysisError, analyze, derive_user_stories
from devgen.services.codegen.analyst.fields import FieldItem, ManyItem, RelationItem, parse_item
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import EntitySpec, ServiceSpec, SpecValidationError

BRIEF = (
    "A library lends books to members. Each book has a title, an author, an ISBN and a "
    "publication year. A loan links a book and a member and has a due date and a returned flag."
)


def _entity(spec: ServiceSpec, name: str) -> EntitySpec:
    entity = spec.entity(name)
    assert entity is not None, [e.name for e in spec.entities]
    return entity


def _field(text: str, entities: frozenset[str] = frozenset()) -> FieldItem:
    item = parse_item(text, set(entities))
    assert isinstance(item, FieldItem), item
    return item


def _types(spec: ServiceSpec, entity: str) -> dict[str, str]:
    return {f.name: f.type.value for f in _entity(spec, entity).fields}


def test_brief_example_gives_books_members_and_loans() -> None:
    result = analyze(BRIEF)
    spec = result.spec

    assert [e.name for e in spec.entities] == ["book", "member", "loan"]
    assert spec.name == "library"
    assert spec.description == "A library lends books to members."
    assert _types(spec, "book") == {
        "title": "string", "author": "string", "isbn": "string", "publication_year": "integer",
    }  # fmt: skip
    assert _types(spec, "loan") == {"due_date": "date", "returned": "boolean"}
    loan = _entity(spec, "loan")
    assert [(r.name, r.target, r.required) for r in loan.relations] == [
        ("book", "book", True),
        ("member", "member", True),
    ]
    assert result.unparsed == []
    assert result.assumptions == ["member: no fields were described; added a required 'name' field"]


def test_same_input_gives_the_same_output() -> None:
    assert analyze(BRIEF).model_dump() == analyze(BRIEF).model_dump()


@pytest.mark.parametrize(
    ("phrase", "name", "kind"),
    [
        ("a publication year", "publication_year", "integer"),
        ("a page count", "page_count", "integer"),
        ("a quantity", "quantity", "integer"),
        ("the number of seats", "number_of_seats", "integer"),
        ("a due date", "due_date", "date"),
        ("a birthday", "birthday", "date"),
        ("a date of birth", "birth_date", "date"),
        ("a joined on date", "joined_on", "date"),
        ("a created at timestamp", "created_at", "datetime"),
        ("a starts at", "starts_at", "datetime"),
        ("a timestamp", "timestamp", "datetime"),
        ("an email address", "email", "email"),
        ("a contact email", "contact_email", "email"),
        ("a price", "price", "decimal"),
        ("an amount", "amount", "decimal"),
        ("a cost", "cost", "decimal"),
        ("a salary", "salary", "decimal"),
        ("an is active", "is_active", "boolean"),
        ("a returned flag", "returned", "boolean"),
        ("an active", "active", "boolean"),
        ("a website", "website", "url"),
        ("a profile url", "profile_url", "url"),
        ("a link", "link", "url"),
        ("a description", "description", "text"),
        ("some notes", "notes", "text"),
        ("a bio", "bio", "text"),
        ("a long summary", "summary", "text"),
        ("a phone number", "phone_number", "string"),
        ("a name", "name", "string"),
        ("an external uuid", "external_uuid", "uuid"),
    ],
)
def test_type_is_inferred_from_the_name(phrase: str, name: str, kind: str) -> None:
    item = _field(phrase)

    assert (item.name, item.type) == (name, kind)


def test_enum_values_come_from_one_of() -> None:
    item = _field("a status that is one of open, in progress or closed")

    assert (item.type, item.values) == ("enum", ["open", "in_progress", "closed"])


def test_enum_in_parentheses_with_default() -> None:
    item = _field("a status (one of draft, published or archived, default draft)")

    assert (item.type, item.values, item.default) == (
        "enum", ["draft", "published", "archived"], "draft",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [
        ("a unique isbn", {"unique": True, "required": True}),
        ("an isbn that is unique", {"unique": True}),
        ("an optional bio", {"required": False}),
        ("a bio (optional)", {"required": False}),
        ("a nickname if any", {"required": False}),
        ("a title of up to 100 characters", {"max_length": 100}),
        ("a code of at least 3 characters", {"min_length": 3}),
        ("a rating between 1 and 5", {"min_value": 1, "max_value": 5, "type": "integer"}),
        ("a score from 0 to 10", {"min_value": 0, "max_value": 10}),
        ("a quantity", {"min_value": 0, "max_value": None}),
        ("a price", {"min_value": 0}),
        ("a balance", {"min_value": None}),
        ("a weight between 0.5 and 20", {"type": "decimal", "min_value": 0.5}),
        ("a done flag", {"default": False}),
        ("an available flag (default true)", {"default": True}),
        ("a level (a number)", {"type": "integer"}),
        ("a nickname (text)", {"type": "text"}),
    ],
)
def test_modifiers_and_limits(phrase: str, expected: dict[str, Any]) -> None:
    item = _field(phrase)

    assert {key: getattr(item, key) for key in expected} == expected


def test_an_entity_name_becomes_a_relation() -> None:
    assert parse_item("an author", {"author"}) == RelationItem("author", "author")
    assert parse_item("an origin airport", {"airport"}) == RelationItem("origin_airport", "airport")
    assert parse_item("many comments", set()) == ManyItem("comment")
    assert parse_item("posts", {"post"}) == ManyItem("post")


def test_unreadable_items_are_reported() -> None:
    assert parse_item("a b c d e f", set()).reason.startswith("not a field")  # type: ignore[union-attr]
    assert parse_item("the", set()).reason == "no field name found"  # type: ignore[union-attr]


def test_belongs_to_and_has_many_make_many_to_one() -> None:
    spec = analyze(
        "Each project has a name and many tasks. A task belongs to a project and has a "
        "title. A comment may belong to a task and has a body."
    ).spec

    task, comment = _entity(spec, "task"), _entity(spec, "comment")
    assert [(r.name, r.target, r.required) for r in task.relations] == [
        ("project", "project", True)
    ]
    assert [(r.name, r.required) for r in comment.relations] == [("task", False)]


def test_has_an_entity_and_passive_voice_make_relations() -> None:
    spec = analyze(
        "Each author has a name. Each post is written by an author and has a title. "
        "Each review has a post, a reviewer name and a rating between 1 and 5."
    ).spec

    assert [r.target for r in _entity(spec, "post").relations] == ["author"]
    assert [r.target for r in _entity(spec, "review").relations] == ["post"]
    assert _types(spec, "review") == {"reviewer_name": "string", "rating": "integer"}


@pytest.mark.parametrize(
    ("sentence", "on_delete", "required"),
    [
        ("When a project is deleted, its tasks are deleted too.", "cascade", True),
        ("Deleting a project deletes its tasks.", "cascade", True),
        ("When a project is deleted, its tasks are kept.", "set_null", False),
        ("A project that has tasks cannot be deleted.", "restrict", True),
    ],
)
def test_delete_behaviour(sentence: str, on_delete: str, required: bool) -> None:
    spec = analyze(f"Each project has a name. A task belongs to a project. {sentence}").spec

    relation = _entity(spec, "task").relations[0]
    assert (relation.on_delete.value, relation.required) == (on_delete, required)


@pytest.mark.parametrize(
    ("sentence", "operations"),
    [
        ("Books cannot be deleted.", ["list", "get", "create", "update"]),
        ("Books are read-only.", ["list", "get"]),
        ("Books can only be listed and created.", ["list", "create"]),
        ("Books can be listed and viewed but not deleted.", ["list", "get", "create", "update"]),
        ("Books must not be updated or removed.", ["list", "get", "create"]),
    ],
)
def test_operations(sentence: str, operations: list[str]) -> None:
    spec = analyze(f"Each book has a title. {sentence}").spec

    assert [op.value for op in _entity(spec, "book").operations] == operations


def test_filters_and_sorting() -> None:
    spec = analyze(
        "Each author has a name. Each book has a title, a genre, an author and a publication "
        "year. Books can be filtered by genre and author and sorted by title or publication "
        "year. Users can sort books by genre."
    ).spec

    book = _entity(spec, "book")
    assert book.filters == ["genre", "author"]
    assert book.sorting == ["title", "publication_year", "genre"]


def test_default_filters_and_sorting() -> None:
    spec = analyze(
        "Each project has a name. A task belongs to a project and has a title, a due date, "
        "a status that is one of open or done, and an urgent flag."
    ).spec

    task = _entity(spec, "task")
    assert task.filters == ["project", "status", "urgent"]
    assert task.sorting == ["title", "due_date"]


def test_unique_and_optional_statements() -> None:
    spec = analyze(
        "Each member has a name, an email and a phone number. Each book has a title and an "
        "isbn. ISBNs are unique. The member's email is unique. A member's phone number is "
        "optional."
    ).spec

    member = {f.name: f for f in _entity(spec, "member").fields}
    assert member["email"].unique
    assert not member["phone_number"].required
    assert _entity(spec, "book").fields[1].unique


@pytest.mark.parametrize(
    ("sentence", "auth"),
    [
        ("The API requires a bearer token.", True),
        ("Only authenticated users can change data.", True),
        ("The API is protected by a token.", True),
        ("The API is public.", False),
        ("", False),
    ],
)
def test_authentication(sentence: str, auth: bool) -> None:
    result = analyze(f"Each book has a title. {sentence}")

    assert result.spec.auth_required is auth
    assert [e.name for e in result.spec.entities] == ["book"]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The service is called book-club. Each book has a title.", "book-club"),
        ("# Reading List\nEach book has a title.", "reading-list"),
        ("An expense tracker helps me save. Each expense has an amount.", "expense-tracker"),
        ("A small bakery sells cakes. Each cake has a name.", "bakery"),
        ("We need a booking system for rooms. Each room has a number.", "booking"),
    ],
)
def test_service_name(text: str, name: str) -> None:
    assert analyze(text).spec.name == name


def test_missing_service_name_is_an_assumption() -> None:
    result = analyze("Each gadget has a name.")

    assert result.spec.name == "gadget-service"
    assert "no service name found; using 'gadget-service'" in result.assumptions


def test_actor_appears_in_the_user_stories() -> None:
    spec = analyze("Each book has a title. It is used by librarians.").spec

    assert {s.as_a for s in spec.user_stories if s.entity} == {"librarian"}


def test_explicit_user_story_is_kept() -> None:
    spec = analyze(
        "Each book has a title. As a reader, I want to find books so that I can read."
    ).spec

    story = spec.user_stories[-1]
    assert (story.id, story.as_a, story.i_want, story.so_that) == (
        "US-text-1", "reader", "to find books", "i can read",
    )  # fmt: skip


def test_unparsed_sentences_and_phrases_are_reported_with_reasons() -> None:
    result = analyze(
        "Each book has a title, a b c d e f and an author. Members love the place. "
        "Books can be filtered by colour. Books can be juggled."
    )

    reported = [(u.sentence, u.text) for u in result.unparsed]
    assert reported == [
        (0, "a b c d e f"),
        (1, "Members love the place"),
        (2, "colour"),
        (3, "juggled"),
    ]
    reasons = [u.reason for u in result.unparsed]
    assert reasons[0].startswith("not a field")
    assert "no known sentence pattern" in reasons[1]
    assert reasons[2] == "no field or relation 'colour' on book"
    assert "not an operation" in reasons[3]
    assert _types(result.spec, "book") == {"title": "string", "author": "string"}


def test_text_without_entities_raises_a_clear_error() -> None:
    with pytest.raises(AnalysisError) as caught:
        analyze("We like good software. It should be fast.")

    message = str(caught.value)
    assert "no entity found" in message
    assert "Each book has a title" in message
    assert [u.text for u in caught.value.unparsed] == [
        "We like good software",
        "It should be fast",
    ]


def test_empty_text_raises() -> None:
    with pytest.raises(AnalysisError, match="empty"):
        analyze("   \n")


def test_reserved_field_name_is_renamed_and_reported() -> None:
    result = analyze("Each shipment has an order and a weight.")

    assert _types(result.spec, "shipment")["shipment_order"] == "string"
    assert any("renamed to 'shipment_order'" in a for a in result.assumptions)


def test_json_spec_is_taken_as_is_with_derived_stories() -> None:
    data = {"name": "shop", "entities": [{"name": "item", "fields": [
        {"name": "label", "type": "string"}]}]}  # fmt: skip

    result = analyze(json.dumps(data))

    assert result.source == "spec"
    assert result.spec.entities[0].fields[0].name == "label"
    assert [s.id for s in result.user_stories][:2] == ["US-health", "US-item-list"]


def test_yaml_spec_is_validated() -> None:
    with pytest.raises(SpecValidationError) as caught:
        analyze("name: shop\nentities:\n  - name: item\n    fields:\n      - {name: x, type: y}\n")

    assert caught.value.problems[0].path == "entities[0].fields[0].type"


def test_every_criterion_maps_to_planned_tests_and_back() -> None:
    spec = analyze(
        BRIEF + " Each member has a unique email. When a book is deleted, its loans are "
        "deleted too. Members cannot be deleted. The API requires a token."
    ).spec
    planned = {t.node_id: t.criterion for t in plan_tests(spec)}

    mapped = {
        test_id: criterion.id
        for story in spec.user_stories
        for criterion in story.acceptance_criteria
        for test_id in criterion.test_ids
    }

    assert mapped == {node: criterion for node, criterion in planned.items() if criterion}
    assert all(c.test_ids for s in spec.user_stories for c in s.acceptance_criteria)
    assert mapped["tests/test_book.py::test_delete_book_cascades_to_loan"] == (
        "AC-book-delete-loan-book"
    )


def test_stories_cover_each_offered_operation() -> None:
    spec = analyze(BRIEF + " Loans are read-only.").spec

    ids = [s.id for s in derive_user_stories(spec)]
    assert "US-loan-list" in ids
    assert "US-loan-create" not in ids
    assert ids[0] == "US-health"
