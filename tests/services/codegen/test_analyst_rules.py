"""The analyst reads business rules in the phrasings product managers write.

Each phrasing is one sentence added to a small, realistic requirement document of its domain;
the test asserts the rule it must become, and that nothing was left unread.
"""

from typing import Any

import pytest

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.spec import ServiceSpec

RENTALS = """# Car rentals
Each vehicle has a plate, a model and a number of seats.
Each customer has a name and an email.
Each rental has a pickup date, a return date, a status that is one of reserved, active,
returned or cancelled, and an optional returned at timestamp.
A rental links a vehicle and a customer.
"""

LIBRARY = """# Library
Each book has a title, an author and an ISBN.
Each member has a name and an email.
Each loan has a start date, a due date and an optional returned at datetime.
A loan links a book and a member.
"""

FLIGHTS = """# Flights
Each flight has a code, a departure date and a number of seats.
Each passenger has a name and a seat number.
A passenger belongs to a flight.
"""

SHOP = """# Shop
Each order has a reference, a status that is one of draft, submitted, approved, shipped or
cancelled, and a discount.
Each order line has a quantity, a unit price and a description.
An order line belongs to an order.
Each product has a name, a description and a price.
"""

NOTES = """# Notes
Each note has a title and a body.
Each project has a name and a description.
"""


def _read(document: str, sentence: str) -> ServiceSpec:
    result = analyze(document + sentence)
    assert result.spec.not_implemented == [], result.spec.not_implemented
    assert result.unparsed == []
    return result.spec


def _rules(spec: ServiceSpec, entity: str, kind: str) -> list[dict[str, Any]]:
    found = spec.entity(entity)
    assert found is not None
    return [r.model_dump(mode="json", exclude={"id", "source"}) for r in found.rules_of(kind)]


@pytest.mark.parametrize(
    ("sentence", "left", "op", "right"),
    [
        ("The return date must be after the pickup date.", "return_date", "gt", "pickup_date"),
        ("A rental's return date is later than its pickup date.", "return_date", "gt",
         "pickup_date"),
        ("The pickup date must be before the return date.", "pickup_date", "lt", "return_date"),
        ("The return date cannot be before the pickup date.", "return_date", "ge", "pickup_date"),
        ("The return date is on or after the pickup date.", "return_date", "ge", "pickup_date"),
        ("The pickup date should be no later than the return date.", "pickup_date", "le",
         "return_date"),
    ],
)  # fmt: skip
def test_comparisons(sentence: str, left: str, op: str, right: str) -> None:
    spec = _read(RENTALS, sentence)

    assert _rules(spec, "rental", "compare") == [
        {"kind": "compare", "left": left, "op": op, "right": right}
    ]


@pytest.mark.parametrize(
    "sentence",
    [
        "Rentals of the same vehicle must not overlap.",
        "Two rentals for the same vehicle cannot overlap in time.",
        "A vehicle cannot have overlapping rentals.",
        "A vehicle cannot be booked twice for overlapping dates.",
        "No two rentals of the same vehicle overlap.",
        "Rentals on one vehicle may not overlap.",
    ],
)
def test_no_overlap(sentence: str) -> None:
    spec = _read(RENTALS, sentence)

    assert _rules(spec, "rental", "no_overlap") == [
        {"kind": "no_overlap", "start": "pickup_date", "end": "return_date",
         "scope": ["vehicle"], "where": None}
    ]  # fmt: skip


@pytest.mark.parametrize(
    "sentence",
    [
        "A flight cannot have more passengers than its seats.",
        "The number of passengers on a flight must not exceed its number of seats.",
        "A flight may hold at most as many passengers as it has seats.",
        "Each flight cannot take more passengers than its number of seats.",
        "Passengers of a flight cannot exceed its seats.",
    ],
)
def test_count_limit_by_a_parent_field(sentence: str) -> None:
    spec = _read(FLIGHTS, sentence)

    assert _rules(spec, "passenger", "count_limit") == [
        {"kind": "count_limit", "relation": "flight", "max_count": None,
         "max_field": "number_of_seats", "where": None}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("sentence", "where"),
    [
        ("A member can have at most 3 open loans.", {"field": "returned_at", "op": "is_null",
                                                     "value": None}),
        ("A member may borrow no more than 3 loans at a time.", None),
        ("At most 3 loans per member.", None),
        ("A member cannot have more than three active loans.", {"field": "returned_at",
                                                               "op": "is_null", "value": None}),
        ("Each member can have up to 3 loans.", None),
    ],
)  # fmt: skip
def test_count_limit_by_a_constant(sentence: str, where: dict[str, Any] | None) -> None:
    spec = _read(LIBRARY, sentence)

    assert _rules(spec, "loan", "count_limit") == [
        {"kind": "count_limit", "relation": "member", "max_count": 3, "max_field": None,
         "where": where}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("sentence", "open_only"),
    [
        ("A member cannot borrow the same book twice at the same time.", True),
        ("A member cannot borrow the same book more than once.", False),
        ("The combination of member and book must be unique.", False),
        ("There can be only one loan per member and book.", False),
        ("Loans must be unique per member and book.", False),
    ],
)
def test_unique_together(sentence: str, open_only: bool) -> None:
    spec = _read(LIBRARY, sentence)

    where = {"field": "returned_at", "op": "is_null", "value": None} if open_only else None
    assert _rules(spec, "loan", "unique_together") == [
        {"kind": "unique_together", "fields": ["member", "book"], "where": where}
    ]


@pytest.mark.parametrize(
    ("sentence", "initial", "first_moves"),
    [
        ("An order goes from draft to submitted to approved to shipped.", "draft", ["submitted"]),
        ("An order moves from draft to submitted or cancelled.", "draft",
         ["submitted", "cancelled"]),
        ("The status of an order goes from draft to submitted then approved.", "draft",
         ["submitted"]),
        ("An order's status changes from draft to submitted to approved.", "draft",
         ["submitted"]),
        ("An order progresses from draft to submitted to shipped.", "draft", ["submitted"]),
    ],
)  # fmt: skip
def test_state_machines(sentence: str, initial: str, first_moves: list[str]) -> None:
    spec = _read(SHOP, sentence)

    (machine,) = _rules(spec, "order", "state_machine")
    assert machine["field"] == "status"
    assert machine["initial"] == initial
    assert machine["transitions"][0] == {"from": initial, "to": first_moves}
    assert machine["terminal"]


@pytest.mark.parametrize(
    ("sentence", "group", "state"),
    [
        ("An approved order cannot be changed.", "frozen", "approved"),
        ("A shipped order can't be edited anymore.", "frozen", "shipped"),
        ("Orders that are submitted must not be modified.", "frozen", "submitted"),
        ("An approved order cannot be deleted.", "undeletable", "approved"),
        ("A shipped order may not be removed.", "undeletable", "shipped"),
    ],
)
def test_locked_states(sentence: str, group: str, state: str) -> None:
    chain = "An order goes from draft to submitted to approved to shipped. "
    spec = _read(SHOP, chain + sentence)

    (machine,) = _rules(spec, "order", "state_machine")
    assert machine[group] == [state]


@pytest.mark.parametrize(
    "sentence",
    [
        "An order's total is the sum of quantity times unit price of its order lines.",
        "The total of an order is the sum of the quantity times the unit price of its order lines.",
        "An order's total is always the sum of quantity multiplied by unit price over its "
        "order lines.",
        "The total of each order is the sum of quantity x unit price across all its order lines.",
        "An order's total is the total of quantity times unit price for its order lines.",
    ],
)
def test_computed_sums_over_children(sentence: str) -> None:
    spec = _read(SHOP, sentence)

    assert _rules(spec, "order", "computed") == [
        {"kind": "computed", "field": "order_total", "type": "decimal", "op": "sum",
         "terms": ["quantity", "unit_price"], "child": "order_line", "via": "order"}
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("sentence", "field", "op"),
    [
        ("An order line's subtotal is its quantity times its unit price.", "subtotal", "product"),
        ("The amount of an order line is the quantity multiplied by the unit price.", "amount",
         "product"),
        ("An order's line count is the number of its order lines.", "line_count", "count"),
        ("The line count of an order is the number of its order lines.", "line_count", "count"),
        ("An order line's total is quantity x unit price.", "order_line_total", "product"),
    ],
)  # fmt: skip
def test_computed_products_and_counts(sentence: str, field: str, op: str) -> None:
    spec = _read(SHOP, sentence)

    entity = "order" if op == "count" else "order_line"
    (rule,) = _rules(spec, entity, "computed")
    assert (rule["field"], rule["op"]) == (field, op)


@pytest.mark.parametrize(
    ("sentence", "fields"),
    [
        ("The time when a note was created is recorded.", ["created_at"]),
        ("A note records when it was created and last updated.", ["created_at", "updated_at"]),
        ("Notes are timestamped.", ["created_at", "updated_at"]),
        ("Each note keeps a creation time and a last update time.", ["created_at", "updated_at"]),
        ("Each note stores when it was created.", ["created_at"]),
    ],
)
def test_managed_timestamps(sentence: str, fields: list[str]) -> None:
    spec = _read(NOTES, sentence)

    note = spec.entity("note")
    assert note is not None
    assert [f.name for f in note.managed_fields] == fields


@pytest.mark.parametrize(
    ("sentence", "name", "managed"),
    [
        ("Each order gets a random 8-character code.", "code",
         {"kind": "code", "length": 8}),
        ("An order is given a unique 6-character reference code.", "reference_code",
         {"kind": "code", "length": 6}),
        ("Order lines are numbered 1, 2, 3 per order.", "number",
         {"kind": "sequence", "per": "order"}),
        ("Orders are numbered sequentially.", "number", {"kind": "sequence", "per": None}),
        ("Each product has a view counter that starts at 0.", "view_count",
         {"kind": "counter", "start": 0}),
        ("A product keeps a download count starting at 100.", "download_count",
         {"kind": "counter", "start": 100}),
    ],
)  # fmt: skip
def test_managed_codes_sequences_counters(
    sentence: str, name: str, managed: dict[str, Any]
) -> None:
    spec = _read(SHOP, sentence)

    fields = {f.name: f for e in spec.entities for f in e.managed_fields}
    assert name in fields
    dumped = fields[name].managed.model_dump()  # type: ignore[union-attr]
    assert {k: dumped[k] for k in managed} == managed


@pytest.mark.parametrize(
    ("sentence", "fields"),
    [
        ("Users can search products by name.", ["name"]),
        ("Customers search products by name and description.", ["name", "description"]),
        ("Products can be searched by their name.", ["name"]),
        ("You can search for products by name or description.", ["name", "description"]),
        ("Staff should be able to search products by description.", ["description"]),
        # Any subject, not a fixed list of who searches (docs/requirements/gym.txt).
        ("Members can search products by name.", ["name"]),
        ("Shoppers search products by name and description.", ["name", "description"]),
    ],
)
def test_search(sentence: str, fields: list[str]) -> None:
    spec = _read(SHOP, sentence)

    assert _rules(spec, "product", "search") == [{"kind": "search", "fields": fields}]


@pytest.mark.parametrize(
    ("document", "sentence", "entity", "field"),
    [
        (SHOP, "Customers can find products under a given price.", "product", "price"),
        (SHOP, "Users can list products within a price range.", "product", "price"),
        (RENTALS, "Staff can list rentals by pickup date range.", "rental", "pickup_date"),
        (RENTALS, "Rentals can be filtered by pickup date range.", "rental", "pickup_date"),
        (SHOP, "Users can find products cheaper than a price.", "product", "price"),
        (SHOP, "Shoppers can find products under a given price.", "product", "price"),
    ],
)
def test_ranges(document: str, sentence: str, entity: str, field: str) -> None:
    spec = _read(document, sentence)

    assert _rules(spec, entity, "range") == [{"kind": "range", "field": field}]


@pytest.mark.parametrize(
    "sentence",
    [
        "Each user sees only their own notes.",
        "Users can only see their own notes.",
        "Notes are private to their owner.",
        "Notes belong to the user who created them.",
        "Every member manages only their own notes.",
    ],
)
def test_ownership_turns_accounts_on(sentence: str) -> None:
    spec = _read(NOTES, sentence)

    assert spec.entity("note").owned  # type: ignore[union-attr]
    assert not spec.entity("project").owned  # type: ignore[union-attr]
    assert spec.auth.mode == "accounts"


@pytest.mark.parametrize(
    ("sentence", "operations", "role"),
    [
        ("Only admins can delete projects.", ["delete"], "admin"),
        ("Only managers can create or delete projects.", ["create", "delete"], "manager"),
        ("Only editors may edit projects.", ["update"], "editor"),
        ("Only administrators are allowed to remove projects.", ["delete"], "administrator"),
        ("Only owners can add, change and delete projects.", ["create", "update", "delete"],
         "owner"),
    ],
)  # fmt: skip
def test_role_required(sentence: str, operations: list[str], role: str) -> None:
    spec = _read(NOTES, sentence)

    assert _rules(spec, "project", "role_required") == [
        {"kind": "role_required", "operations": operations, "roles": [role]}
    ]
    assert spec.auth.mode == "accounts"
    assert spec.auth.roles == [role, "user"]
    assert spec.auth.default_role == "user"


@pytest.mark.parametrize(
    ("sentence", "mode"),
    [
        ("Only authenticated employees can see notes.", "accounts"),
        ("Users must log in.", "accounts"),
        ("The API uses JWT.", "accounts"),
        ("People sign up with an email and a password.", "accounts"),
        ("Only logged-in users can change projects.", "accounts"),
        ("The API requires a bearer token.", "static_token"),
        ("Clients call the API with an API key.", "static_token"),
        ("The API is public.", "none"),
    ],
)
def test_authentication_phrasings(sentence: str, mode: str) -> None:
    assert _read(NOTES, sentence).auth.mode == mode


@pytest.mark.parametrize(
    ("document", "owner", "target"),
    [
        ("Each post has a title. Each tag has a label. Tags are used on many posts.", "post",
         "tag"),
        ("Each post has a title and many tags. Each tag has a label. Tags are used on many "
         "posts.", "post", "tag"),
        ("Each course has a title. Each student has a name. A student can take many courses.",
         "student", "course"),
        ("Each course has a title. Each student has a name. Students and courses are "
         "many-to-many.", "student", "course"),
        ("Each song has a title. Each playlist has a name. A song can appear in many "
         "playlists.", "song", "playlist"),
    ],
)  # fmt: skip
def test_many_to_many(document: str, owner: str, target: str) -> None:
    spec = _read("", document)

    entity = spec.entity(owner)
    assert entity is not None
    (relation,) = [r for r in entity.relations if r.kind == "many_to_many"]
    assert relation.target == target
    assert relation.on_delete.value == "cascade"
    other = spec.entity(target)
    assert other is not None
    assert other.relations == []


def test_a_priority_between_1_and_5_is_an_integer() -> None:
    spec = _read("", "Each task has a title and a priority between 1 and 5.")

    priority = spec.entities[0].field("priority")
    assert priority is not None
    assert (priority.type.value, priority.min_value, priority.max_value) == ("integer", 1, 5)


def test_a_title_between_3_and_80_characters_stays_a_length() -> None:
    spec = _read("", "Each task has a title between 3 and 80 characters.")

    title = spec.entities[0].field("title")
    assert title is not None
    assert (title.type.value, title.min_length, title.max_length) == ("string", 3, 80)


@pytest.mark.parametrize(
    ("phrase", "name", "kind", "unit"),
    [
        ("a price in euros", "price", "decimal", "EUR"),
        ("a fee in dollars", "fee", "decimal", "USD"),
        ("a weight in kg", "weight", "decimal", "kg"),
        ("a duration in minutes", "duration", "integer", "minutes"),
        ("a distance in kilometers", "distance", "decimal", "km"),
    ],
)
def test_units_are_metadata_never_names(phrase: str, name: str, kind: str, unit: str) -> None:
    spec = _read("", f"Each trip has a title and {phrase}.")

    field = spec.entities[0].field(name)
    assert field is not None
    assert (field.type.value, field.unit) == (kind, unit)


@pytest.mark.parametrize(
    ("phrase", "name", "pattern"),
    [
        ("a plate number like AB-123-CD", "plate_number", "[A-Z]{2}-[0-9]{3}-[A-Z]{2}"),
        ("a licence code in the form DL-12345", "licence_code", "[A-Z]{2}-[0-9]{5}"),
        ("a ticket code such as TK-0042", "ticket_code", "[A-Z]{2}-[0-9]{4}"),
        ("a postcode formatted as 1234 AB", "postcode", "[0-9]{4} [A-Z]{2}"),
        ("a badge code of the form b12", "badge_code", "[a-z][0-9]{2}"),
        ("a version that looks like v1.2", "version", r"[a-z][0-9]\.[0-9]"),
        ("an employee code matching `[A-Z]{3}[0-9]{2}`", "employee_code", "[A-Z]{3}[0-9]{2}"),
    ],
)
def test_shapes_and_regexes_become_patterns(phrase: str, name: str, pattern: str) -> None:
    """An example of the shape (it has a digit) or a regex in backticks is a field's pattern."""
    spec = _read("", f"Each driver has a name and {phrase}.")

    field = spec.entities[0].field(name)
    assert field is not None
    assert (field.type.value, field.pattern) == ("string", pattern)


def test_a_name_like_a_person_is_not_a_pattern() -> None:
    """Without a digit, "like" is not read as an example of a shape."""
    result = analyze("Each driver has a name like Alice and a phone.")

    assert all(f.pattern is None for f in result.spec.entities[0].fields)


@pytest.mark.parametrize(
    ("sentence", "name"),
    [
        ("Each employee has a name and may have a manager.", "manager"),
        ("Each employee has a name and optionally a mentor.", "mentor"),
        ("Each category has a name and may have a parent.", "parent"),
        ("Each employee has a name and can have a supervisor.", "supervisor"),
        ("Each task has a title and may have a parent task.", "parent_task"),
    ],
)
def test_optional_self_references(sentence: str, name: str) -> None:
    spec = _read("", sentence)

    entity = spec.entities[0]
    assert [(r.name, r.target, r.required) for r in entity.relations] == [
        (name, entity.name, False)
    ]
    assert all("may_have" not in f.name for f in entity.fields)


def test_an_enum_value_is_never_an_entity() -> None:
    spec = _read(
        "", "Each question has a text and a kind that is one of single choice or multiple choice."
    )

    assert [e.name for e in spec.entities] == ["question"]
    kind = spec.entities[0].field("kind")
    assert kind is not None
    assert kind.values == ["single_choice", "multiple_choice"]


@pytest.mark.parametrize(
    "sentence",
    [
        "Vehicles are washed after every rental.",
        "The manager gets an email when a rental is cancelled.",
        "Prices are shown with two decimals in the invoice PDF.",
        "Customers should feel welcome.",
        "A rental's return date is after the delivery date.",
    ],
)
def test_unused_sentences_are_reported_with_a_suggestion(sentence: str) -> None:
    result = analyze(RENTALS + sentence)

    (reported,) = result.spec.not_implemented
    assert reported.sentence == sentence.rstrip(".")
    assert reported.reason
    assert reported.suggestion.startswith(("say", "rephrase", "declare", "describe", "give"))
    names = {f.name for e in result.spec.entities for f in e.fields}
    assert not any(len(name.split("_")) > 3 for name in names)


def test_a_whole_requirement_reads_every_rule() -> None:
    requirement = RENTALS + (
        "The return date must be after the pickup date. "
        "Rentals of the same vehicle must not overlap. "
        "A rental goes from reserved to active to returned. "
        "A returned rental cannot be changed. "
        "Staff can list rentals by pickup date range. "
        "Only admins can delete vehicles. "
        "Vehicles are cleaned after every rental."
    )

    result = analyze(requirement)

    kinds = {r.kind for e in result.spec.entities for r in e.rules}
    assert kinds == {"compare", "no_overlap", "state_machine", "range", "role_required"}
    assert [n.sentence for n in result.spec.not_implemented] == [
        "Vehicles are cleaned after every rental"
    ]
    rule = result.spec.rule("rental.no_overlap.1")
    assert rule is not None
    assert rule.source == "Rentals of the same vehicle must not overlap"


def test_a_count_limit_sentence_declares_no_entity() -> None:
    result = analyze(
        "Each warehouse has a name and a capacity. "
        "A stock level links a product and a warehouse and has a quantity. "
        "A warehouse cannot have more stock levels than its capacity."
    )

    assert sorted(entity.name for entity in result.spec.entities) == [
        "product",
        "stock_level",
        "warehouse",
    ]
    assert [rule["kind"] for rule in _rules(result.spec, "stock_level", "count_limit")] == [
        "count_limit"
    ]


@pytest.mark.parametrize(
    ("text", "entity", "left", "right"),
    [
        (
            "Each loan has a title, a loan date and a due date. "
            "The due date must be after the loan date.",
            "loan",
            "due_date",
            "loan_date",
        ),
        (
            "Each incident has a title, an opened at timestamp and a resolved at timestamp. "
            "The resolved at timestamp must be after the opened at timestamp.",
            "incident",
            "resolved_at",
            "opened_at",
        ),
    ],
)
def test_compare_finds_fields_named_after_the_entity_or_called_timestamps(
    text: str, entity: str, left: str, right: str
) -> None:
    result = analyze(text)

    rules = _rules(result.spec, entity, "compare")
    assert [(rule["left"], rule["op"], rule["right"]) for rule in rules] == [(left, "gt", right)]
    assert result.spec.not_implemented == []


@pytest.mark.parametrize("limit", ["of at least 1", "at most 12", "of no more than 12"])
def test_a_bare_numeric_limit_makes_an_untyped_field_an_integer(limit: str) -> None:
    result = analyze(f"Each reservation has a guest name and a party size {limit}.")

    (entity,) = result.spec.entities
    party = next(f for f in entity.fields if f.name == "party_size")
    assert party.type == "integer"
    assert party.min_length is None
    assert party.max_length is None
