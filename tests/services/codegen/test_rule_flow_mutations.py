"""Accounts, ownership and relations are proven by the generated tests: a mutation check.

The rule kinds (role_required, state_machine, computed, …) are mutation-checked by
``test_rule_mutations.py`` from ``rule_specs/``; what is not a rule with an id — the
accounts themselves, ownership, many-to-many links, optional relations — is checked here:
each case disables that code in a generated project and a generated test named for it fails.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.verify import check_project, run_tests
from devgen.services.codegen.spec import validate_spec
from tests.services.codegen.mutations import disable

SPECS = Path(__file__).parent / "rule_specs"
NOTES_SPEC: dict[str, Any] = json.loads((SPECS / "notes.json").read_text(encoding="utf-8"))
SCHOOL_SPEC: dict[str, Any] = {
    "name": "school",
    "entities": [
        {
            "name": "course",
            "fields": [{"name": "title", "type": "string", "max_length": 100}],
            "relations": [
                {
                    "name": "students",
                    "target": "student",
                    "kind": "many_to_many",
                    "required": False,
                    "on_delete": "cascade",
                }
            ],
        },
        {"name": "student", "fields": [{"name": "full_name", "type": "string"}]},
        {
            "name": "employee",
            "fields": [{"name": "full_name", "type": "string"}],
            "relations": [
                {
                    "name": "manager",
                    "target": "employee",
                    "required": False,
                    "on_delete": "set_null",
                }
            ],
        },
    ],
}


@pytest.fixture(scope="module")
def notes_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The notes project, generated once; its own suite passes untouched."""
    root = tmp_path_factory.mktemp("notes")
    project = generate(validate_spec(NOTES_SPEC))
    project.write(root)
    check = check_project(root, coverage=False)
    assert check.ok, check.output
    assert sorted(check.passed) == sorted(project.tests)
    return root


@pytest.fixture(scope="module")
def school_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project with a many-to-many and an optional self-reference; its suite passes."""
    root = tmp_path_factory.mktemp("school")
    project = generate(validate_spec(SCHOOL_SPEC))
    project.write(root)
    check = check_project(root, coverage=False)
    assert check.ok, check.output
    assert sorted(check.passed) == sorted(project.tests)
    return root


def _mutant(project: Path, tmp_path: Path) -> Path:
    root = tmp_path / "mutant"
    shutil.copytree(project, root)
    return root


@pytest.mark.slow
def test_ownership_is_proven_by_its_tests(notes_project: Path, tmp_path: Path) -> None:
    root = _mutant(notes_project, tmp_path)
    disable(root, "app/auth.py", "return owner_id == account.id or", "return True or")
    for router in ("app/routers/notebook.py", "app/routers/note.py"):
        disable(root, router, "if not is_admin(account):", "if False:")

    _, failed = run_tests(root, "tests/test_notebook_access.py", "tests/test_note_access.py")

    for name in ("notebook", "note"):
        assert f"tests/test_{name}_access.py::test_{name}_of_another_account_is_not_found" in failed
        assert f"tests/test_{name}_access.py::test_list_{name}s_shows_only_own" in failed
    assert (
        "tests/test_note_access.py::test_note_cannot_refer_to_another_accounts_notebook" in failed
    )


@pytest.mark.slow
def test_accounts_are_proven_by_their_tests(notes_project: Path, tmp_path: Path) -> None:
    root = _mutant(notes_project, tmp_path)
    disable(root, "app/config.py", "min_length=MIN_SECRET_KEY_LENGTH,", "")
    disable(
        root,
        "app/auth.py",
        'options={"require": ["sub", "exp"]},',
        'options={"verify_signature": False},',
    )

    _, failed = run_tests(root, "tests/test_auth.py")

    assert "tests/test_auth.py::test_service_refuses_to_start_without_secret_key" in failed
    assert "tests/test_auth.py::test_me_refuses_missing_or_bad_tokens" in failed


@pytest.mark.slow
def test_link_routes_are_proven_by_their_tests(school_project: Path, tmp_path: Path) -> None:
    root = _mutant(school_project, tmp_path)
    disable(
        root,
        "app/routers/course_students_links.py",
        "if session.scalar(exists) is None:",
        "if False:",
    )

    _, failed = run_tests(root, "tests/test_course_students.py")

    assert "tests/test_course_students.py::test_link_course_students" in failed


@pytest.mark.slow
def test_link_cascade_is_proven_by_its_tests(school_project: Path, tmp_path: Path) -> None:
    root = _mutant(school_project, tmp_path)
    # The schema comes from the migration (the models mirror it): change the link table's
    # foreign keys in both, from its definition on.
    for path, start in (
        (root / "app/models.py", "class CourseStudentsLink"),
        (next((root / "migrations/versions").glob("*.py")), '"course_students"'),
    ):
        text = path.read_text(encoding="utf-8")
        link = text[text.index(start) :]
        mutated = link.replace('ondelete="CASCADE"', 'ondelete="RESTRICT"', 2)
        assert mutated != link, path
        path.write_text(text.replace(link, mutated), encoding="utf-8")

    _, failed = run_tests(root, "tests/test_course_students.py")

    assert (
        "tests/test_course_students.py::test_deleting_a_course_removes_its_students_links" in failed
    )
    assert (
        "tests/test_course_students.py::test_deleting_a_student_removes_its_courses_links" in failed
    )


@pytest.mark.slow
def test_optional_self_reference_is_proven_by_its_test(
    school_project: Path, tmp_path: Path
) -> None:
    root = _mutant(school_project, tmp_path)
    disable(root, "app/schemas.py", "manager_id: Int64 | None = None", "manager_id: Int64")

    _, failed = run_tests(root, "tests/test_employee_relations.py")

    assert "tests/test_employee_relations.py::test_employee_manager_is_optional" in failed
