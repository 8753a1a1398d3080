"""Run a generated project's own checks locally: ruff, the formatter and its pytest suite.

The platform runs generated tests in the executor's sandbox; this is the trusted, local
counterpart used by devgen's own tests. The pytest command and the reading of its junit
report are :mod:`devgen.kit.testruns`', as in the sandbox, so a test has the same node id
and the project the same coverage flags here and there. Only run it on projects devgen
generated: it executes their code.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess  # nosec B404 - runs ruff and pytest on a generated project
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from devgen.kit.testruns import JUNIT_FILE, TestOutcome, parse_junit, pytest_command


@dataclass(frozen=True)
class ProjectCheck:
    """What the checks of one generated project found."""

    lint_ok: bool
    format_ok: bool
    tests_ok: bool
    output: str
    passed: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Whether lint, format and tests all passed."""
        return self.lint_ok and self.format_ok and self.tests_ok


def check_project(root: Path, *, coverage: bool = True, timeout: float = 600) -> ProjectCheck:
    """Run ``ruff check``, ``ruff format --check`` and pytest in ``root``.

    pytest runs with the project's own configuration, third-party plugin autoloading off
    (so plugins of the calling environment cannot change the run) and the sandbox's flags
    (:func:`~devgen.kit.testruns.pytest_command`; coverage when ``coverage`` is set and
    pytest-cov is installed).
    """
    started = time.perf_counter()
    env = _clean_env(root)
    python = sys.executable
    lint = _run([python, "-m", "ruff", "check", "--no-cache", "."], root, env, timeout)
    fmt = _run([python, "-m", "ruff", "format", "--check", "--no-cache", "."], root, env, timeout)
    with_coverage = coverage and importlib.util.find_spec("pytest_cov") is not None
    command = pytest_command(_project_files(root), python=python, coverage=with_coverage)
    tests = _run(command, root, env, timeout)
    passed, failed = _junit_results(root, JUNIT_FILE)
    return ProjectCheck(
        lint_ok=lint.returncode == 0,
        format_ok=fmt.returncode == 0,
        tests_ok=tests.returncode == 0,
        output="\n".join(
            f"$ {' '.join(result.args[2:])}\n{result.stdout}{result.stderr}"
            for result in (lint, fmt, tests)
        ),
        passed=passed,
        failed=failed,
        seconds=time.perf_counter() - started,
    )


def run_tests(root: Path, *paths: str, timeout: float = 600) -> tuple[list[str], list[str]]:
    """Run pytest on ``paths`` of the project in ``root`` (no lint, no coverage).

    Returns the (passed, failed) node ids; used by the mutation check.
    """
    env = _clean_env(root)
    junit = root / "junit-mutation.xml"
    junit.unlink(missing_ok=True)
    command = pytest_command(
        _project_files(root), python=sys.executable, junit=junit.name, coverage=False
    )
    _run([*command, *paths], root, env, timeout)
    try:
        return _junit_results(root, junit.name)
    finally:
        junit.unlink(missing_ok=True)


def _project_files(root: Path) -> list[str]:
    return sorted(
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if ".venv" not in path.relative_to(root).parts
    )


def _clean_env(root: Path) -> dict[str, str]:
    # The caller's pytest, coverage and Python path settings must not leak into the run.
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTEST_", "COV_CORE_", "COVERAGE_", "PYTHON"))
    }
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(root)
    return env


def _run(
    command: list[str], root: Path, env: dict[str, str], timeout: float
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(  # nosec B603 - fixed argv, no shell
            command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(command, 124, str(exc.stdout or ""), f"timeout: {exc}")


def _junit_results(root: Path, name: str) -> tuple[list[str], list[str]]:
    """(passed, failed) pytest node ids, e.g. ``tests/test_book.py::test_get_book``.

    Skipped tests count as failed: a check that skips proves nothing.
    """
    path = root / name
    if not path.exists():
        return [], []
    passed, failed = [], []
    for result in parse_junit(path.read_bytes(), _project_files(root)):
        (passed if result.outcome == TestOutcome.passed else failed).append(result.id)
    return passed, failed
