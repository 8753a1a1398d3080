"""Checks that read a project without running it: compile, ruff (lint and format), bandit.

The files are written to a private temporary directory and the tools run there in
subprocesses (they only parse the code). Two precautions, because the files come from a
client or a model:

- a ruff configuration that ``extend``s another file is left out (it could point at any
  file on this host, and ruff quotes what it cannot parse); the project is then checked
  with ruff's defaults and a warning says so;
- without a ruff configuration of its own, ruff runs ``--isolated``, so the host's user
  configuration cannot change the result;
- a ``.bandit`` file is left out: the code under review does not get to turn the
  security checks off (``# nosec`` on a line still works, and is visible in review).

Severities: syntax errors, pyflakes findings (``F``: undefined names, ...) and bandit's
high-severity findings are errors; other ruff rules, formatting and medium bandit findings
are warnings; low bandit findings are information. ``assert`` in tests (bandit B101) is how
pytest works and is not reported.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 - runs ruff and bandit (static analysers) on a copy
import sys
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import structlog

from devgen.services.codegen.files import is_test_file
from devgen.services.codegen.validation.diagnostics import Diagnostic, Severity

log = structlog.get_logger(__name__)

_TIMEOUT_SECONDS = 120
_RUFF_CONFIGS = ("pyproject.toml", "ruff.toml", ".ruff.toml")
_BANDIT_SEVERITY = {"HIGH": Severity.error, "MEDIUM": Severity.warning, "LOW": Severity.info}


def syntax_diagnostics(files: Mapping[str, str]) -> list[Diagnostic]:
    """A diagnostic for every Python file that does not compile."""
    found = []
    for path, content in files.items():
        if not path.endswith(".py"):
            continue
        try:
            compile(content, path, "exec", dont_inherit=True)
        except SyntaxError as exc:
            found.append(
                Diagnostic(
                    file=path,
                    line=exc.lineno,
                    rule="syntax",
                    message=exc.msg,
                    severity=Severity.error,
                )
            )
        except ValueError as exc:  # NUL bytes
            found.append(
                Diagnostic(
                    file=path, line=None, rule="syntax", message=str(exc), severity=Severity.error
                )
            )
        except (RecursionError, MemoryError):
            found.append(
                Diagnostic(
                    file=path,
                    line=None,
                    rule="syntax",
                    message="nested too deeply to compile",
                    severity=Severity.error,
                )
            )
    return found


def _unsafe_ruff_config(path: str, content: str) -> str | None:
    """Why a ruff configuration file must not be used, or None."""
    try:
        data = tomllib.loads(content)
    except tomllib.TOMLDecodeError as exc:
        return f"not valid TOML ({exc})"
    table: Any = data.get("tool", {}).get("ruff", {}) if path == "pyproject.toml" else data
    if isinstance(table, dict) and "extend" in table:
        return "it extends another configuration file"
    return None


def _prepare(files: Mapping[str, str], root: Path) -> tuple[list[Diagnostic], bool]:
    """Write ``files`` under ``root``; returns config warnings and whether a config is used."""
    found: list[Diagnostic] = []
    has_config = False
    for path, content in files.items():
        if path == ".bandit" or path.endswith("/.bandit"):
            # bandit reads it unasked: the code under review must not switch checks off.
            found.append(
                Diagnostic(
                    file=path,
                    line=None,
                    rule="config",
                    message="bandit's configuration is not taken from the project",
                    severity=Severity.info,
                )
            )
            continue
        if path in _RUFF_CONFIGS:
            reason = _unsafe_ruff_config(path, content)
            if reason is not None:
                found.append(
                    Diagnostic(
                        file=path,
                        line=None,
                        rule="config",
                        message=f"ruff ignores this file: {reason}",
                        severity=Severity.warning,
                    )
                )
                continue
            has_config = has_config or path != "pyproject.toml" or "[tool.ruff" in content
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return found, has_config


def _run(command: list[str], root: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "RUFF_", "DEVGEN_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        return subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, no shell
            command,
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(command, 124, "", f"timed out after {_TIMEOUT_SECONDS}s")


def _tool_failed(tool: str, result: subprocess.CompletedProcess[str]) -> Diagnostic:
    log.warning(
        "validation_tool_failed", tool=tool, code=result.returncode, stderr=result.stderr[-2000:]
    )
    return Diagnostic(
        file=None,
        line=None,
        rule=tool,
        message=f"{tool} could not check the project (exit {result.returncode})",
        severity=Severity.warning,
    )


def _relative(name: str, root: Path) -> str:
    path = Path(name)
    if path.is_absolute():
        try:
            return path.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return path.name
    return path.as_posix().removeprefix("./")


def ruff_diagnostics(root: Path, *, isolated: bool, skip: set[str]) -> list[Diagnostic]:
    """``ruff check`` findings, and files ``ruff format`` would change (``skip``: unparsable)."""
    flags = ["--no-cache", *(["--isolated"] if isolated else [])]
    check = _run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            *flags,
            ".",
        ],
        root,
    )
    try:
        findings = json.loads(check.stdout or "[]")
    except json.JSONDecodeError:
        return [_tool_failed("ruff", check)]
    found = []
    for item in findings:
        file = _relative(str(item.get("filename", "")), root)
        code = item.get("code")
        if file in skip and code in (None, "invalid-syntax"):
            continue  # the syntax check reports it already
        severity = Severity.error if not code or code.startswith("F") else Severity.warning
        row = (item.get("location") or {}).get("row")
        found.append(
            Diagnostic(
                file=file,
                line=row if isinstance(row, int) else None,
                rule=f"ruff:{code or 'syntax'}",
                message=str(item.get("message", "")),
                severity=severity,
            )
        )
    for file in _unformatted(root, flags):
        if file not in skip:
            found.append(
                Diagnostic(
                    file=file,
                    line=None,
                    rule="format",
                    message="not laid out as `ruff format` would",
                    severity=Severity.warning,
                )
            )
    return found


def _unformatted(root: Path, flags: list[str]) -> list[str]:
    """Files ``ruff format`` would change (JSON output since ruff 0.10, text before)."""
    command = [sys.executable, "-m", "ruff", "format", "--check", *flags]
    result = _run([*command, "--output-format", "json", "."], root)
    try:
        items = json.loads(result.stdout)
    except json.JSONDecodeError:
        result = _run([*command, "."], root)
        prefix = "Would reformat: "
        return [
            _relative(line.removeprefix(prefix).strip(), root)
            for line in result.stdout.splitlines()
            if line.startswith(prefix)
        ]
    return [
        _relative(str(item.get("filename", "")), root)
        for item in items
        if isinstance(item, dict) and item.get("code") == "unformatted"
    ]


def bandit_diagnostics(root: Path) -> list[Diagnostic]:
    """bandit's findings, without ``assert`` in tests."""
    result = _run([sys.executable, "-m", "bandit", "-r", ".", "-f", "json", "-q"], root)
    try:
        report = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        return [_tool_failed("bandit", result)]
    found = []
    for item in report.get("results", []):
        file = _relative(str(item.get("filename", "")), root)
        test_id = str(item.get("test_id", ""))
        if test_id == "B101" and is_test_file(file):
            continue
        severity = _BANDIT_SEVERITY.get(str(item.get("issue_severity")), Severity.warning)
        found.append(
            Diagnostic(
                file=file,
                line=item.get("line_number"),
                rule=f"bandit:{test_id}",
                message=str(item.get("issue_text", "")),
                severity=severity,
            )
        )
    return found


def static_diagnostics(files: Mapping[str, str]) -> list[Diagnostic]:
    """Syntax, ruff and bandit findings for ``files``, sorted by file and line."""
    found = syntax_diagnostics(files)
    unparsable = {d.file for d in found if d.file}
    if any(path.endswith(".py") for path in files):
        with tempfile.TemporaryDirectory(prefix="devgen-validate-") as tmp:
            root = Path(tmp)
            warnings, has_config = _prepare(files, root)
            found += warnings
            found += ruff_diagnostics(root, isolated=not has_config, skip=unparsable)
            found += bandit_diagnostics(root)
    return sorted(found, key=lambda d: (d.file or "", d.line or 0, d.rule))
