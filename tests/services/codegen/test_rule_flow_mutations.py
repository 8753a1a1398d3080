"""Accounts, ownership, roles and flow rules are proven by the generated tests: a mutation check.

Each case generates a project, checks its suite passes, then disables one rule's generated
code and asserts that a generated test named for that rule fails.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Any

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.verify import check_project
from devgen.services.codegen.spec import validate_spec

NOTES_SPEC: dict[str, Any] = {
    "name": "notes",
    "description": "Personal notes.",
    "auth": {"mode": "accounts", "roles": ["admin", "member"]},
    "entities": [
        {
            "name": "notebook",
            "owned": True,
            "fields": [{"name": "title", "type": "string", "max_length": 100}],
            "rules": [
                {
                    "kind": "role_required",
                    "id": "notebook.role_required.1",
                    "source": "Only admins can delete notebooks.",
                    "operations": ["delete"],
                    "roles": ["admin"],
                }
            ],
        },
        {
            "name": "note",
            "owned": True,
            "fields": [{"name": "body", "type": "text"}],
            "relations": [{"name": "notebook", "target": "notebook", "on_delete": "cascade"}],
        },
    ],
}


def run_generated_tests(root: Path, *paths: str) -> tuple[list[str], list[str]]:
    """Run the generated project's tests (all, or ``paths``); (passed, failed) node ids."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}
    env.update(
        PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", PYTHONDONTWRITEBYTECODE="1", PYTHONPATH=str(root)
    )
    junit = root / "mutant.xml"
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        f"--junitxml={junit}",
    ]
    subprocess.run([*command, *paths], cwd=root, env=env, capture_output=True, timeout=300)
    passed, failed = [], []
    for case in ElementTree.parse(junit).iter("testcase"):
        node = f"{case.get('classname', '').replace('.', '/')}.py::{case.get('name')}"
        bad = any(case.find(tag) is not None for tag in ("failure", "error"))
        (failed if bad else passed).append(node)
    return passed, failed


def disable(root: Path, path: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in a generated file."""
    target = root / path
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    target.write_text(text.replace(old, new), encoding="utf-8")


def disable_rule(root: Path, path: str, rule_id: str) -> None:
    """Turn the function between ``# rule: <id>`` and ``# end rule: <id>`` into a no-op."""
    target = root / path
    text = target.read_text(encoding="utf-8")
    marker = re.escape(rule_id)
    head = rf"(# rule: {marker}\n.*?def \w+\([^)]*\)[^:]*:\n)"
    pattern = re.compile(rf"{head}(.*?)(\n\n*# end rule: {marker})", re.DOTALL)
    mutated, count = pattern.subn(lambda m: m.group(1) + "    return None\n" + m.group(3), text)
    assert count == 1, f"rule {rule_id} not found in {path}"
    target.write_text(mutated, encoding="utf-8")


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


def _mutant(notes_project: Path, tmp_path: Path) -> Path:
    root = tmp_path / "mutant"
    root.mkdir()
    for source in notes_project.rglob("*"):
        if source.is_file() and "__pycache__" not in source.parts:
            target = root / source.relative_to(notes_project)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return root


@pytest.mark.slow
def test_role_rule_is_proven_by_its_test(notes_project: Path, tmp_path: Path) -> None:
    root = _mutant(notes_project, tmp_path)
    disable_rule(root, "app/access.py", "notebook.role_required.1")

    _, failed = run_generated_tests(root, "tests/test_notebook_access.py")

    assert "tests/test_notebook_access.py::test_rule_notebook_role_required_1" in failed


@pytest.mark.slow
def test_ownership_is_proven_by_its_tests(notes_project: Path, tmp_path: Path) -> None:
    root = _mutant(notes_project, tmp_path)
    disable(root, "app/auth.py", "return owner_id == account.id or", "return True or")
    for router in ("app/routers/notebook.py", "app/routers/note.py"):
        disable(root, router, "if not is_admin(account):", "if False:")

    _, failed = run_generated_tests(
        root, "tests/test_notebook_access.py", "tests/test_note_access.py"
    )

    for name in ("notebook", "note"):
        assert f"tests/test_{name}_access.py::test_{name}_of_another_account_is_not_found" in failed
        assert f"tests/test_{name}_access.py::test_list_{name}s_shows_only_own" in failed


@pytest.mark.slow
def test_accounts_are_proven_by_their_tests(notes_project: Path, tmp_path: Path) -> None:
    root = _mutant(notes_project, tmp_path)
    disable(root, "app/main.py", "if problems:", "if False:")
    disable(
        root,
        "app/auth.py",
        'options={"require": ["sub", "exp"]},',
        'options={"verify_signature": False},',
    )

    _, failed = run_generated_tests(root, "tests/test_auth.py")

    assert "tests/test_auth.py::test_service_refuses_to_start_without_secret_key" in failed
    assert "tests/test_auth.py::test_me_refuses_missing_or_bad_tokens" in failed
