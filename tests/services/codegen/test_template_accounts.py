"""The template engine in accounts mode: what it generates, without running it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.accounts import ARGON2_REQUIREMENT, PYJWT_REQUIREMENT
from devgen.services.codegen.engines.context import build_project
from devgen.services.codegen.engines.flowstories import flow_stories
from devgen.services.codegen.spec import validate_spec
from tests.services.codegen.test_rule_flow_mutations import NOTES_SPEC, SCHOOL_SPEC


def test_accounts_mode_pins_its_libraries_and_has_no_secret_default() -> None:
    project = generate(validate_spec(NOTES_SPEC))

    requirements = project.files["requirements.txt"].splitlines()
    assert ARGON2_REQUIREMENT in requirements
    assert PYJWT_REQUIREMENT in requirements
    assert all("==" in line for line in (ARGON2_REQUIREMENT, PYJWT_REQUIREMENT))
    config = project.files["app/config.py"]
    # Required (no default) and at least 32 characters, checked before the service starts.
    assert "    secret_key: str = Field(\n        min_length=MIN_SECRET_KEY_LENGTH,\n" in config
    assert "app/routers/auth.py" in project.files
    assert "tests/test_auth.py::test_register_account" in project.tests


def test_role_rules_are_functions_marked_with_their_rule_id() -> None:
    project = generate(validate_spec(NOTES_SPEC))

    rules = project.files["app/rules.py"]
    assert "# rule: notebook.role_required.1\n" in rules
    assert "# end rule: notebook.role_required.1\n" in rules
    assert "rules.notebook_role_required_1(account)" in project.files["app/routers/notebook.py"]
    node = "tests/test_rules_notebook.py::test_notebook_role_required_1_refuses_other_roles"
    assert node in project.tests


def test_static_token_mode_stays_without_accounts() -> None:
    spec = copy.deepcopy(NOTES_SPEC)
    spec["auth"] = {"mode": "static_token"}
    for entity in spec["entities"]:
        entity["owned"] = False
        entity["rules"] = []

    project = generate(validate_spec(spec))

    assert "API_TOKEN" in project.files["app/auth.py"]
    assert "app/routers/auth.py" not in project.files
    assert "argon2" not in project.files["requirements.txt"]
    assert "tests/test_note.py::test_notes_require_token" in project.tests


def test_many_to_many_is_a_link_table_with_routes_both_ways() -> None:
    project = generate(validate_spec(SCHOOL_SPEC))

    models = project.files["app/models.py"]
    assert "class CourseStudentsLink(Base):" in models
    assert '__tablename__ = "course_students"' in models
    assert (
        "student_id"
        not in project.files["app/schemas.py"].split("class CourseCreate")[1].split("class")[0]
    )
    routes = project.files["app/routers/course_students_links.py"]
    for path in (
        '"/courses/{course_id}/students"',
        '"/courses/{course_id}/students/{student_id}"',
        '"/students/{student_id}/courses"',
    ):
        assert path in routes
    assert "tests/test_course_students.py::test_link_course_students" in project.tests


def test_flow_rule_kinds_are_covered_by_the_mutation_specs() -> None:
    specs = Path(__file__).parent / "rule_specs"
    kinds = {
        rule.kind
        for path in specs.glob("*.json")
        for _, rule in build_project(validate_spec(json.loads(path.read_text()))).rules
    }

    assert {"role_required", "state_machine", "computed"} <= kinds


def test_computed_fields_are_read_only_columns() -> None:
    spec = json.loads((Path(__file__).parent / "rule_specs/orders.json").read_text())
    project = generate(validate_spec(spec))

    schemas = project.files["app/schemas.py"]
    create = schemas.split("class OrderCreate")[1].split("\nclass ")[0]
    read = schemas.split("class OrderRead")[1].split("\nclass ")[0]
    assert "order_total" not in create
    assert "order_total: decimal.Decimal" in read
    assert "line_count: int" in read
    rules = project.files["app/rules.py"]
    assert "def order_computed_1_after_child(" in rules
    assert "rules.after_write_order_line(ctx, row)" in project.files["app/routers/order_line.py"]


def test_flow_stories_name_the_generated_tests_of_each_criterion() -> None:
    spec = validate_spec(NOTES_SPEC)

    stories = {story.id: story for story in flow_stories(spec)}

    criteria = {c.id: c for c in stories["US-accounts"].acceptance_criteria}
    assert "tests/test_auth.py::test_register_account" in criteria["AC-auth-register"].test_ids
    owned = criteria["AC-notebook-owned"].test_ids
    assert "tests/test_notebook_access.py::test_notebook_of_another_account_is_not_found" in owned
    planned = set(generate(spec).tests)
    assert all(t in planned for c in criteria.values() for t in c.test_ids)
