"""The examples' rules, mutation-checked: each example with rules generates a project whose
suite passes, and disabling a rule's code fails a test named for that rule.

The harness is the one of ``test_rule_mutations.py``. To stay fast, every rule of the
library and fleet examples is disabled in turn; of the other examples, the first rule of
each kind not already covered (so every kind the examples carry is checked at least once).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.context import build_project
from devgen.services.codegen.spec import ServiceSpec, validate_spec
from tests.project_checks import check_project
from tests.services.codegen.mutations import assert_disabling_fails_a_named_test

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ALL_RULES = ("library", "fleet")


def _spec(name: str) -> ServiceSpec:
    return validate_spec(json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8")))


def _rules(name: str) -> list[tuple[str, str, str, str]]:
    """(entity, rule id, rule function, kind) of every rule the engine generates."""
    return [(e.name, r.id, r.function, r.kind) for e, r in build_project(_spec(name)).rules]


WITH_RULES = [p.stem.removesuffix(".spec") for p in sorted(EXAMPLES.glob("*.spec.json"))]
WITH_RULES = [name for name in WITH_RULES if _rules(name)]


def _cases() -> list[tuple[str, str, str, str]]:
    cases = [(name, *rule[:3]) for name in ALL_RULES for rule in _rules(name)]
    seen = {rule[3] for name in ALL_RULES for rule in _rules(name)}
    for name in WITH_RULES:
        if name in ALL_RULES:
            continue
        for entity, rule_id, function, kind in _rules(name):
            if kind not in seen:
                seen.add(kind)
                cases.append((name, entity, rule_id, function))
    return cases


CASES = _cases()
KINDS = {rule[3] for name in WITH_RULES for rule in _rules(name)}


def test_the_examples_carry_every_rule_kind() -> None:
    assert {
        "unique_together", "compare", "no_overlap", "count_limit", "state_machine",
        "computed", "search", "range", "managed_created_at", "managed_updated_at",
        "managed_code", "managed_sequence", "managed_counter",
    } <= KINDS  # fmt: skip
    checked = {
        kind for name, _, rule_id, _ in CASES for _, rid, _, kind in _rules(name) if rid == rule_id
    }
    assert checked == KINDS


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each example with rules, generated once, its own suite passing."""
    roots = {}
    for name in WITH_RULES:
        root = tmp_path_factory.mktemp(name)
        project = generate(_spec(name))
        project.write(root)
        check = check_project(root, coverage=False)
        assert check.ok, check.output
        assert sorted(check.passed) == sorted(project.tests)
        roots[name] = root
    return roots


@pytest.mark.slow
@pytest.mark.parametrize(("example", "entity", "rule_id", "function"), CASES)
def test_disabling_an_example_rule_fails_a_test_named_for_it(
    example: str,
    entity: str,
    rule_id: str,
    function: str,
    generated: dict[str, Path],
    tmp_path: Path,
) -> None:
    assert_disabling_fails_a_named_test(generated[example], entity, rule_id, function, tmp_path)
