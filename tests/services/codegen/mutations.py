"""The mutation check shared by the rule-spec and example tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from devgen.services.codegen.engines.mutation import disable_rule
from devgen.services.codegen.engines.verify import run_tests


def disable(root: Path, path: str, old: str, new: str) -> None:
    """Replace ``old`` (which must be there) by ``new`` in a generated file."""
    target = root / path
    text = target.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    target.write_text(text.replace(old, new), encoding="utf-8")


def assert_disabling_fails_a_named_test(
    project: Path, entity: str, rule_id: str, function: str, workdir: Path
) -> None:
    """Copy ``project``, make rule ``rule_id`` a no-op, and require a test named for it to fail."""
    root = workdir / "project"
    shutil.copytree(project, root)
    rules = root / "app/rules.py"
    rules.write_text(disable_rule(rules.read_text(encoding="utf-8"), rule_id), encoding="utf-8")

    passed, failed = run_tests(root, f"tests/test_rules_{entity}.py", "-k", f"test_{function}_")

    named = [test for test in failed if test.split("::")[-1].startswith(f"test_{function}_")]
    assert named, f"no test of {rule_id} failed; failed: {failed}; passed: {len(passed)}"
