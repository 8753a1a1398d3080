"""The production basics of a generated service are proven by its tests: a mutation check.

Each case takes one basic out of a generated project (the settings check, the request
logs, a probe, CORS, the body limit) and requires every generated test of it to fail.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.testplan import API_TOKEN_TEST, PRODUCTION_TESTS
from devgen.services.codegen.engines.verify import check_project, run_tests
from tests.services.codegen.mutations import disable

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
SETTINGS_TESTS = "tests/test_settings.py"


@pytest.fixture(scope="module")
def library_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The library example (static token), generated once; its own suite passes untouched."""
    root = tmp_path_factory.mktemp("library")
    project = generate(analyze((EXAMPLES / "library.txt").read_text(encoding="utf-8")).spec)
    project.write(root)
    check = check_project(root, coverage=False)
    assert check.ok, check.output
    assert sorted(check.passed) == sorted(project.tests)
    return root


def _failed_without(
    project: Path, workdir: Path, test_file: str, *edits: tuple[str, str, str]
) -> set[str]:
    root = workdir / "mutant"
    shutil.copytree(project, root)
    for path, old, new in edits:
        disable(root, path, old, new)
    _, failed = run_tests(root, test_file)
    return {node.split("::")[-1] for node in failed}


@pytest.mark.slow
@pytest.mark.parametrize(
    ("test_file", "edits"),
    [
        pytest.param(
            "tests/test_request_logs.py",
            [("app/main.py", "app.add_middleware(RequestLogs)", "")],
            id="request-logs",
        ),
        pytest.param(
            "tests/test_body_limit.py",
            [
                (
                    "app/main.py",
                    "app.add_middleware(BodyLimit, max_bytes=resolved.max_body_bytes)",
                    "",
                )
            ],
            id="body-limit",
        ),
        pytest.param(
            "tests/test_cors.py",
            [("app/main.py", "allow_origins(app, resolved.cors_origins)", "")],
            id="cors",
        ),
        pytest.param(
            "tests/test_health.py",
            [("app/health.py", '@router.get(\n    "/ready",', '@router.get(\n    "/not-ready",')],
            id="ready-route",
        ),
    ],
)
def test_each_basic_is_proven_by_its_tests(
    library_project: Path, tmp_path: Path, test_file: str, edits: list[tuple[str, str, str]]
) -> None:
    failed = _failed_without(library_project, tmp_path, test_file, *edits)

    expected = set(PRODUCTION_TESTS[test_file])
    assert expected <= failed, f"passed without the feature: {sorted(expected - failed)}"


@pytest.mark.slow
def test_the_readiness_check_is_proven_by_its_test(library_project: Path, tmp_path: Path) -> None:
    failed = _failed_without(
        library_project,
        tmp_path,
        "tests/test_health.py",
        ("app/health.py", 'session.execute(sa.text("SELECT 1"))', "pass"),
    )

    assert "test_ready_answers_503_when_the_database_is_unreachable" in failed


@pytest.mark.slow
def test_the_settings_check_is_proven_by_its_tests(library_project: Path, tmp_path: Path) -> None:
    # Settings built without validation and without reading the environment: no check at all.
    failed = _failed_without(
        library_project,
        tmp_path,
        SETTINGS_TESTS,
        ("app/config.py", "return cls()", "return cls.model_construct()"),
    )

    assert {*PRODUCTION_TESTS[SETTINGS_TESTS], API_TOKEN_TEST} <= failed
