"""The examples without rules: each generates a project whose own suite, linters included, passes.

The examples with rules are generated and run by ``test_example_mutations.py`` (and end
to end through the platform's sandbox by ``tests/e2e/test_examples.py``); these are the
plain CRUD ones, run here with the sandbox's pytest flags in devgen's environment (which
``kit/pins.toml`` constrains to the versions the sandbox and the generated project pin).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.context import build_project
from devgen.services.codegen.spec import validate_spec
from tests.project_checks import check_project

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAMES = sorted(path.name.removesuffix(".spec.json") for path in EXAMPLES.glob("*.spec.json"))


def _without_rules(name: str) -> bool:
    spec = validate_spec(json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8")))
    return not build_project(spec).rules


WITHOUT_RULES = [name for name in NAMES if _without_rules(name)]


def test_some_examples_are_plain_crud() -> None:
    assert len(WITHOUT_RULES) >= 5
    assert "conference" in WITHOUT_RULES  # the largest, ten entities


@pytest.mark.slow
@pytest.mark.parametrize("name", WITHOUT_RULES)
def test_the_example_generates_a_project_whose_suite_passes(name: str, tmp_path: Path) -> None:
    spec = validate_spec(json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8")))
    project = generate(spec)
    project.write(tmp_path)

    check = check_project(tmp_path, coverage=False)

    assert check.ok, check.output
    assert sorted(check.passed) == sorted(project.tests)
    assert check.failed == []
