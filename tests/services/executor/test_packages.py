"""Requirement strings: a narrow grammar, one canonical spelling, one key per set."""

from __future__ import annotations

import pytest

from devgen.services.executor.packages import (
    InvalidRequirement,
    build_key,
    normalize,
    normalize_set,
)


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("FastAPI", "fastapi"),
        ("Foo_Bar.baz[B, a] >= 1.0 , <2", "foo-bar-baz[a,b]<2,>=1.0"),
        ("pytest-cov==7.1.0", "pytest-cov==7.1.0"),
        (" attrs ", "attrs"),
    ],
)
def test_normalize(given: str, canonical: str) -> None:
    assert normalize(given) == canonical


@pytest.mark.parametrize(
    "given",
    [
        "pkg @ https://example.com/pkg.whl",
        "--index-url=https://evil",
        "-e .",
        "./path",
        "/abs/path",
        "pkg; sys_platform == 'linux'",
        "pkg==1.0 --hash=sha256:00",
        "two words",
        "pkg\n--pre",
        "x" * 201,
        "",
    ],
)
def test_anything_but_name_extras_and_versions_is_refused(given: str) -> None:
    with pytest.raises(InvalidRequirement):
        normalize(given)


def test_a_set_is_sorted_deduplicated_and_one_entry_per_name() -> None:
    assert normalize_set(["b", "A", "a"]) == ["a", "b"]
    with pytest.raises(InvalidRequirement, match="more than once"):
        normalize_set(["pkg>=1", "pkg<2"])


def test_equal_sets_have_equal_keys() -> None:
    one = build_key("python3", "3.11.2", normalize_set(["B", "a"]))
    two = build_key("python3", "3.11.2", normalize_set(["a", "b"]))

    assert one == two
    assert build_key("python3", "3.12.0", ["a", "b"]) != one
