"""Run a generated project's own checks locally: ruff, the formatter and its pytest suite.

The platform runs generated tests in the executor's sandbox; this is the trusted, local
counterpart used by the codegen tests and by anyone checking a template change. Only run it
on projects this engine generated: it executes their code.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess  # nosec B404 - runs ruff and pytest on a generated project
import sys
import time
import xml.etree.ElementTree as ElementTree  # nosec B405 - reads our own junit file
from dataclasses import dataclass, field
from pathlib import Path


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
    (so plugins of the calling environment cannot change the run) and, when ``coverage`` is
    set and pytest-cov is installed, ``--cov=app --cov-report=xml --junitxml=junit.xml``.
    """
    started = time.perf_counter()
    env = _clean_env(root)
    python = sys.executable
    lint = _run([python, "-m", "ruff", "check", "--no-cache", "."], root, env, timeout)
    fmt = _run([python, "-m", "ruff", "format", "--check", "--no-cache", "."], root, env, timeout)
    command = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--junitxml=junit.xml"]
    if coverage and importlib.util.find_spec("pytest_cov") is not None:
        command += ["-p", "pytest_cov", "--cov=app", "--cov-report=xml"]
    tests = _run(command, root, env, timeout)
    passed, failed = _junit_results(root / "junit.xml")
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
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    _run([*command, f"--junitxml={junit.name}", *paths], root, env, timeout)
    try:
        return _junit_results(junit)
    finally:
        junit.unlink(missing_ok=True)


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
        return subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, no shell
            command, cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        return subprocess.CompletedProcess(command, 124, str(exc.stdout or ""), f"timeout: {exc}")


def _junit_results(path: Path) -> tuple[list[str], list[str]]:
    """(passed, failed) pytest node ids, e.g. ``tests/test_book.py::test_get_book``."""
    if not path.exists():
        return [], []
    passed, failed = [], []
    for case in ElementTree.parse(path).iter("testcase"):  # noqa: S314  # nosec B314
        module = case.get("classname", "").replace(".", "/")
        node = f"{module}.py::{case.get('name', '')}"
        bad = any(case.find(tag) is not None for tag in ("failure", "error", "skipped"))
        (failed if bad else passed).append(node)
    return passed, failed
