"""The plain-English examples in examples/: each must produce exactly its stored spec."""

import json
from pathlib import Path

import pytest

from devgen.services.codegen.analyst import analyze

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
NAMES = sorted(path.stem for path in EXAMPLES.glob("*.txt"))


def test_there_are_at_least_twelve_examples_each_with_a_spec() -> None:
    assert len(NAMES) >= 12
    assert all((EXAMPLES / f"{name}.spec.json").is_file() for name in NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_example_produces_its_stored_spec(name: str) -> None:
    expected = json.loads((EXAMPLES / f"{name}.spec.json").read_text(encoding="utf-8"))

    result = analyze((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8"))

    assert result.unparsed == []
    assert result.spec.model_dump(mode="json") == expected


@pytest.mark.parametrize("name", NAMES)
def test_stored_spec_is_valid_and_reads_back_the_same(name: str) -> None:
    text = (EXAMPLES / f"{name}.spec.json").read_text(encoding="utf-8")

    result = analyze(text)

    assert result.source == "spec"
    assert result.spec.model_dump(mode="json") == json.loads(text)
