"""Validation of a project's files: syntax, ruff, bandit, and its own tests in the sandbox.

- :mod:`.static` — compile every ``.py`` file, ``ruff check``/``ruff format --check`` and
  bandit, locally (the tools read the code; nothing in it runs here);
- :mod:`.sandbox` — the run of the project's tests through the executor service (the
  command, and the reading of junit and coverage, are :mod:`devgen.kit.testruns`').
"""

from devgen.kit.testruns import (
    CoverageReport,
    ReportError,
    TestOutcome,
    TestResult,
    parse_coverage,
    parse_junit,
)
from devgen.services.codegen.validation.diagnostics import Diagnostic, Severity
from devgen.services.codegen.validation.sandbox import (
    SandboxLimits,
    TestRun,
    TestStatus,
    interpret,
    run_tests,
)
from devgen.services.codegen.validation.static import static_diagnostics

__all__ = [
    "CoverageReport",
    "Diagnostic",
    "ReportError",
    "SandboxLimits",
    "Severity",
    "TestOutcome",
    "TestResult",
    "TestRun",
    "TestStatus",
    "interpret",
    "parse_coverage",
    "parse_junit",
    "run_tests",
    "static_diagnostics",
]
