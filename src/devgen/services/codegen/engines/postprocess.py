"""Finishing touches that need the rendered project on disk: formatting and the OpenAPI file.

Both run tools in other processes on a private temporary copy of the project, so generation
has no side effect on the caller's interpreter (the rendered package is called ``app``, a name
the caller may well use itself) and depends only on the installed tool versions. ruff is its
binary, run directly; the OpenAPI document comes from a fork of a process that has the
rendered app's libraries loaded already (:mod:`.openapi_export`), or, when that process is
not available, from a plain ``python -c`` subprocess, the reference it matches byte for byte.
"""

from __future__ import annotations

import functools
import os
import subprocess  # nosec B404 - runs ruff and python on our own output
import sys
import tempfile
from pathlib import Path

import ruff  # type: ignore[import-untyped]
import structlog

from devgen.services.codegen.engines import openapi_export

log = structlog.get_logger(__name__)

_TIMEOUT_SECONDS = 120
_MEMORY_DIR = "/dev/shm"  # noqa: S108  # nosec B108 - mkdtemp makes a private directory in it

# Prints the OpenAPI document of the rendered app; creating the app opens no database. The
# document does not depend on the settings, so they are the defaults, unvalidated: the
# secrets the service refuses to start without are not needed to describe it.
_OPENAPI_SCRIPT = (
    "import json, sys\n"
    "from app.config import Settings\n"
    "from app.main import create_app\n"
    "app = create_app(Settings.model_construct())\n"
    "sys.stdout.write(json.dumps(app.openapi(), indent=2, ensure_ascii=False) + '\\n')\n"
)


class PostprocessError(RuntimeError):
    """A tool failed on the rendered project; the message holds its output."""


def finish(files: dict[str, str], *, openapi_path: str | None) -> dict[str, str]:
    """Format the Python files with ruff and add the OpenAPI document at ``openapi_path``.

    Returns a new mapping; ``files`` is not changed.
    """
    with tempfile.TemporaryDirectory(prefix="devgen-codegen-", dir=_scratch_dir()) as tmp:
        root = Path(tmp)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        python_files = sorted(path for path in files if path.endswith(".py"))
        if python_files:
            # Import order is layout, like indentation: ruff's isort fix and formatter make
            # the output look hand-written whatever the lengths of the names in the spec.
            _run([*_ruff(), "check", "--fix-only", "--select", "I",
                  "--no-cache", "--quiet", *python_files], root)  # fmt: skip
            _run([*_ruff(), "format", "--no-cache", "--quiet", *python_files], root)  # fmt: skip
        result = {path: (root / path).read_text(encoding="utf-8") for path in files}
        if openapi_path is not None:
            result[openapi_path] = _openapi(root)
    return result


def _openapi(root: Path) -> str:
    try:
        document, imported = openapi_export.export(root, timeout=_TIMEOUT_SECONDS)
    except openapi_export.Unavailable as exc:
        # The plain subprocess is the reference: a failure of the rendered app itself is
        # reported from it, with its own output, as before the preloaded process existed.
        log.info("codegen.openapi_plain_subprocess", reason=str(exc)[:2000])
        return _run([sys.executable, "-c", _OPENAPI_SCRIPT], root)
    if imported:
        log.info("codegen.openapi_preload_incomplete", imported=imported[:50])
    return document


def _scratch_dir() -> str | None:
    # The copy lives for a second: in memory (tmpfs), writing and removing its files
    # costs a fraction of what it costs on a disk. An operator's TMPDIR is kept.
    if (
        "TMPDIR" not in os.environ
        and os.path.isdir(_MEMORY_DIR)
        and os.access(_MEMORY_DIR, os.W_OK)
    ):
        return _MEMORY_DIR
    return None


@functools.cache
def _ruff() -> tuple[str, ...]:
    # The binary itself: ``python -m ruff`` would start an interpreter only to exec it.
    try:
        return (ruff.find_ruff_bin(),)
    except FileNotFoundError:
        return (sys.executable, "-m", "ruff")


def _run(command: list[str], cwd: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(openapi_export.DROPPED_ENVIRONMENT)
    }
    env["PYTHONPATH"] = str(cwd)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        completed = subprocess.run(  # noqa: S603  # nosec B603 - fixed argv, no shell
            command,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PostprocessError(f"{_name(command)} timed out after {_TIMEOUT_SECONDS}s") from exc
    if completed.returncode != 0:
        raise PostprocessError(
            f"{_name(command)} failed ({completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed.stdout


def _name(command: list[str]) -> str:
    # "ruff check", "ruff format" or "python -c": what ran, without the file list.
    if command[0] == sys.executable:
        return f"python {command[1]} {command[2]}" if command[1] == "-m" else "python -c"
    return f"{Path(command[0]).stem} {command[1]}"
