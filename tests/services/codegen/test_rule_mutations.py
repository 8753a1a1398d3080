"""Mutation check: each generated rule has a test, named for it, that fails without it.

For each spec in ``rule_specs/`` the project is generated and its whole suite passes; then,
rule by rule, the rule's functions in ``app/rules.py`` become no-ops and the rule tests of
its entity run again: at least one test named ``test_<rule function>_...`` must fail.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.context import build_project
from devgen.services.codegen.engines.mutation import MutationError, disable_rule
from devgen.services.codegen.spec import ServiceSpec, validate_spec
from tests.project_checks import check_project, run_tests
from tests.services.codegen.mutations import assert_disabling_fails_a_named_test

SPECS = Path(__file__).parent / "rule_specs"
NAMES = sorted(path.stem for path in SPECS.glob("*.json"))


def _spec(name: str) -> ServiceSpec:
    return validate_spec(json.loads((SPECS / f"{name}.json").read_text(encoding="utf-8")))


def _rules(name: str) -> list[tuple[str, str, str]]:
    """(entity, rule id, rule function) of every rule the engine generates for ``name``."""
    project = build_project(_spec(name))
    return [(e.name, rule.id, rule.function) for e, rule in project.rules]


CASES = [(name, *rule) for name in NAMES for rule in _rules(name)]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each spec's project, generated once, its own suite passing."""
    roots = {}
    for name in NAMES:
        root = tmp_path_factory.mktemp(name)
        project = generate(_spec(name))
        project.write(root)
        check = check_project(root, coverage=False)
        assert check.ok, check.output
        assert sorted(check.passed) == sorted(project.tests)
        roots[name] = root
    return roots


def test_disable_rule_turns_each_function_of_the_block_into_a_no_op() -> None:
    source = (
        "def keep() -> None:\n    raise KeyError\n\n\n"
        "# rule: a.b.1\n"
        'def a_b_1(x: int) -> None:\n    """Doc."""\n    raise ValueError(x)\n\n\n'
        "def a_b_1_increment() -> None:\n    raise ValueError\n\n\n"
        "# end rule: a.b.1\n"
    )
    namespace: dict[str, object] = {}
    exec(compile(disable_rule(source, "a.b.1"), "rules", "exec"), namespace)

    assert namespace["a_b_1"](1) is None  # type: ignore[operator]
    assert namespace["a_b_1_increment"]() is None  # type: ignore[operator]
    with pytest.raises(KeyError):
        namespace["keep"]()  # type: ignore[operator]
    with pytest.raises(MutationError):
        disable_rule(source, "a.b.2")


def test_every_rule_kind_is_covered_by_a_spec() -> None:
    kinds = {rule.kind for name in NAMES for _, rule in build_project(_spec(name)).rules}

    assert {
        "unique_together", "compare", "no_overlap", "count_limit", "search", "range",
        "managed_created_at", "managed_updated_at", "managed_code", "managed_sequence",
        "managed_counter",
    } <= kinds  # fmt: skip


@pytest.mark.slow
@pytest.mark.parametrize(("spec", "entity", "rule_id", "function"), CASES)
def test_disabling_a_rule_fails_a_test_named_for_it(
    spec: str,
    entity: str,
    rule_id: str,
    function: str,
    generated: dict[str, Path],
    tmp_path: Path,
) -> None:
    assert_disabling_fails_a_named_test(generated[spec], entity, rule_id, function, tmp_path)


@pytest.mark.slow
def test_dropping_field_constraints_fails_the_invalid_data_tests(
    generated: dict[str, Path], tmp_path: Path
) -> None:
    root = tmp_path / "project"
    shutil.copytree(generated["rentals"], root)
    schemas = root / "app/schemas.py"
    text = schemas.read_text(encoding="utf-8")
    mutated = text.replace(r', pattern="^(?:[A-Z]{3}-\\d{4})\\Z"', "").replace(
        "ge=0, le=60", "le=60"
    )
    assert mutated.count("pattern=") < text.count("pattern=")
    assert mutated.count("ge=0, le=60") < text.count("ge=0, le=60")
    schemas.write_text(mutated, encoding="utf-8")

    _, failed = run_tests(root, "-k", "rejects_invalid_data")

    assert "tests/test_customer.py::test_create_customer_rejects_invalid_data" in failed
    assert "tests/test_vehicle.py::test_create_vehicle_rejects_invalid_data" in failed
