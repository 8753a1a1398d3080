"""Generated projects really work: ruff is clean and their own test suites pass."""

import importlib.util
import json
from pathlib import Path
from xml.etree import ElementTree

import pytest

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import generate
from tests.project_checks import check_project, run_tests

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["library", "todo"])
def test_generated_project_passes_ruff_and_its_tests(name: str, tmp_path: Path) -> None:
    result = analyze((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8"))
    project = generate(result.spec)
    project.write(tmp_path)

    check = check_project(tmp_path)

    assert check.ok, check.output
    assert check.failed == []
    # Every planned test ran and passed, so every acceptance criterion is backed by a pass.
    assert sorted(check.passed) == sorted(project.tests)
    criteria_tests = {t for c in result.acceptance_criteria for t in c.test_ids}
    assert criteria_tests <= set(check.passed)
    if importlib.util.find_spec("pytest_cov") is not None:
        coverage = ElementTree.parse(tmp_path / "coverage.xml").getroot()
        assert float(coverage.get("line-rate", "0")) >= 0.9


# Loaded into the generated project's pytest: runs its tests last to first.
REVERSE_ORDER_PLUGIN = """
def pytest_collection_modifyitems(items):
    items.reverse()
"""


@pytest.mark.slow
@pytest.mark.parametrize("name", ["library", "todo"])
def test_generated_tests_pass_in_reverse_order(name: str, tmp_path: Path) -> None:
    """Each generated test is isolated (its transaction rolled back): no order is needed."""
    project = generate(analyze((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8")).spec)
    project.write(tmp_path)
    (tmp_path / "reverse_order.py").write_text(REVERSE_ORDER_PLUGIN, encoding="utf-8")

    passed, failed = run_tests(tmp_path, "-p", "reverse_order")

    assert failed == []
    assert sorted(passed) == sorted(project.tests)


@pytest.mark.slow
def test_a_broken_project_is_reported(tmp_path: Path) -> None:
    spec = json.loads((EXAMPLES / "todo.spec.json").read_text(encoding="utf-8"))
    project = generate(analyze(json.dumps(spec)).spec)
    project.write(tmp_path)
    router = tmp_path / "app/routers/task.py"
    router.write_text(router.read_text().replace("HTTP_201_CREATED", "HTTP_200_OK"))

    check = check_project(tmp_path, coverage=False)

    assert check.lint_ok
    assert not check.tests_ok
    assert "tests/test_task.py::test_create_task" in check.failed
