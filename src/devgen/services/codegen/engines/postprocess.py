"""Finishing touches that need the rendered project on disk: formatting and the OpenAPI file.

Both run tools in a subprocess on a private temporary copy of the project, so generation has
no side effect on the caller's interpreter (the rendered package is called ``app``, a name the
caller may well use itself) and depends only on the installed tool versions.
"""

from __future__ import annotations

import os
import subprocess  # nosec B404 - runs ruff and python on our own output
import sys
import tempfile
from pathlib import Path

_TIMEOUT_SECONDS = 120

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
    with tempfile.TemporaryDirectory(prefix="devgen-codegen-") as tmp:
        root = Path(tmp)
        for path, content in files.items():
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")
        python_files = sorted(path for path in files if path.endswith(".py"))
        if python_files:
            # Import order is layout, like indentation: ruff's isort fix and formatter make
            # the output look hand-written whatever the lengths of the names in the spec.
            _run([sys.executable, "-m", "ruff", "check", "--fix-only", "--select", "I",
                  "--no-cache", "--quiet", *python_files], root)  # fmt: skip
            _run([sys.executable, "-m", "ruff", "format", "--no-cache", "--quiet",
                  *python_files], root)  # fmt: skip
        result = {path: (root / path).read_text(encoding="utf-8") for path in files}
        if openapi_path is not None:
            result[openapi_path] = _run([sys.executable, "-c", _OPENAPI_SCRIPT], root)
    return result


def _run(command: list[str], cwd: Path) -> str:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PYTHON", "DATABASE_URL", "API_TOKEN"))
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
        raise PostprocessError(f"{command[2]} timed out after {_TIMEOUT_SECONDS}s") from exc
    if completed.returncode != 0:
        raise PostprocessError(
            f"{' '.join(command[:4])} failed ({completed.returncode}):\n"
            f"{completed.stdout}{completed.stderr}"
        )
    return completed.stdout
