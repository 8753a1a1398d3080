"""``devgen generate`` tells what will be built and what will not; ``--strict`` exits 3."""

from __future__ import annotations

from pathlib import Path

import pytest

from devgen.cli.generate import (
    EXIT_FAILED,
    EXIT_NOT_IMPLEMENTED,
    EXIT_OK,
    exit_status,
    not_implemented_block,
    plan_lines,
)
from tests.cli.conftest import Devgen

DROPPED = {
    "sentence": "Vehicles are washed after every rental",
    "reason": "not data, a choice or a rule the analyst reads; nothing was built from it",
    "suggestion": "rephrase as data ('each X has a, b and c')",
}
ANALYSIS = {
    "will_build": {
        "auth": "accounts",
        "entities": [{"name": "rental", "plural": "rentals", "operations": ["list", "get"],
                      "owned": True}],
        "rules": [{"id": "rental.compare.1", "summary": "rental.end > rental.start"}],
    },
    "not_implemented": [DROPPED],
}  # fmt: skip
PASSED = {"state": "succeeded", "tests": {"all_passed": True}}


def test_the_plan_lists_entities_rules_and_dropped_sentences() -> None:
    lines = plan_lines(ANALYSIS)

    assert lines == [
        "Will build:",
        "  rental (/rentals: list, get, owned by their creator)",
        "  auth: accounts",
        "  rule rental.compare.1: rental.end > rental.start",
        "Will not build:",
        f"  - “{DROPPED['sentence']}”: {DROPPED['reason']}",
        f"    suggestion: {DROPPED['suggestion']}",
    ]


def test_a_plan_without_drops_says_so() -> None:
    assert plan_lines({**ANALYSIS, "not_implemented": []})[-1] == (
        "Will not build: nothing left out."
    )


def test_the_block_after_the_tally_counts_the_sentences() -> None:
    assert not_implemented_block([DROPPED])[0] == (
        "Not implemented (1 sentence of the requirement):"
    )
    assert not_implemented_block([]) == []


@pytest.mark.parametrize(
    ("finished", "dropped", "strict", "status"),
    [
        (PASSED, [], False, EXIT_OK),
        (PASSED, [DROPPED], False, EXIT_OK),
        (PASSED, [DROPPED], True, EXIT_NOT_IMPLEMENTED),
        (PASSED, [], True, EXIT_OK),
        ({"state": "failed", "tests": None}, [DROPPED], True, EXIT_FAILED),
        ({"state": "succeeded", "tests": {"all_passed": False}}, [], True, EXIT_FAILED),
    ],
)
def test_exit_status(finished: dict, dropped: list, strict: bool, status: int) -> None:
    assert exit_status(finished, dropped, strict=strict) == status


def test_help_documents_the_exit_codes(devgen: Devgen) -> None:
    result = devgen("generate", "--help")

    assert result.exit_code == 0
    assert "--strict" in result.output
    assert "3 with --strict" in " ".join(result.output.split())


@pytest.mark.slow
def test_generate_strict_prints_the_plan_and_exits_3(devgen: Devgen, tmp_path: Path) -> None:
    requirement = tmp_path / "notes.txt"
    requirement.write_text(
        "# Notes\nEach note has a title and a body.\nNotes are timestamped.\n"
        "Users can search notes by title.\nNotes are printed on paper every Friday.\n"
    )

    result = devgen("generate", str(requirement), "--strict", "--out", str(tmp_path / "out"))

    output = result.output
    assert result.exit_code == EXIT_NOT_IMPLEMENTED, output
    assert "Will build:" in output
    assert "rule note.search.1: ?q= searches title" in output
    assert "Notes are printed on paper every Friday" in output.split("Will not build:")[1]
    after_tally = output.split("Tests: ")[1]
    assert "Not implemented (1 sentence of the requirement):" in after_tally
    assert output.index("Will build:") < output.index("Tests: ")
