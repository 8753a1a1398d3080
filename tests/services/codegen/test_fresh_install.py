"""A generated project installs from PyPI in a fresh virtualenv, as its README says, and passes.

This is what its user does: create a virtualenv, ``pip install -r requirements-dev.txt``,
run the linters and the tests (the README's own commands, read from it), start the
server. pip sees only PyPI here (not this machine's pip configuration), and must resolve
exactly the pins of ``kit/pins.toml`` — nothing newer, nothing missing. pip's cache is
kept, so only the first run downloads.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from devgen.kit.pins import service_pins
from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import GeneratedProject, generate
from devgen.services.codegen.spec import validate_spec
from tests.helpers import eventually_sync

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
SPECS = Path(__file__).resolve().parent / "rule_specs"
_SH_BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)

pytestmark = [pytest.mark.registry, pytest.mark.slow, pytest.mark.timeout(900)]


def _project(name: str) -> tuple[GeneratedProject, bool]:
    """The generated project of an example, and whether it has accounts."""
    if name == "notes":
        spec = validate_spec(json.loads((SPECS / "notes.json").read_text(encoding="utf-8")))
    else:
        spec = analyze((EXAMPLES / f"{name}.txt").read_text(encoding="utf-8")).spec
    return generate(spec), spec.auth.mode == "accounts"


def _readme_blocks(readme: str, heading: str) -> list[str]:
    """The lines of the first ``sh`` block under ``## heading``."""
    section = readme.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    match = _SH_BLOCK.search(section)
    assert match, f"no sh block under {heading!r}"
    return [line for line in match[1].splitlines() if line.strip()]


def _pypi_only_environment(bin_dir: Path) -> dict[str, str]:
    """The environment of a user's shell: PATH's ``python`` is 3.11, pip knows only PyPI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "VIRTUAL_ENV"))}
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    if "PIP_CERT" in os.environ:
        env["PIP_CERT"] = os.environ["PIP_CERT"]
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return env


def _bash(script: str, cwd: Path, env: dict[str, str], timeout: float) -> str:
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{script}\n---\n{output[-6000:]}"
    return output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("name", ["library", "notes"])
def test_a_generated_project_installs_from_pypi_and_passes_its_tests_and_linters(
    name: str, tmp_path: Path
) -> None:
    project, has_accounts = _project(name)
    project.write(tmp_path)
    readme = project.files["README.md"]
    run_block = _readme_blocks(readme, "Run it")
    test_block = _readme_blocks(readme, "Test it")
    bin_dir = tmp_path.parent / f"{tmp_path.name}-bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(sys.executable)
    env = _pypi_only_environment(bin_dir)

    install = [line for line in run_block if not line.startswith("uvicorn ")]
    _bash("\n".join(install), tmp_path, env, timeout=600)
    frozen = _bash(". .venv/bin/activate && pip freeze --all", tmp_path, env, timeout=60)
    installed = {
        line.split("==")[0].lower().replace("_", "-") + "==" + line.split("==")[1]
        for line in frozen.splitlines()
        if "==" in line and not line.startswith(("pip==", "setuptools==", "wheel=="))
    }
    pins = service_pins()
    expected = set(pins.requirements(accounts=has_accounts)) | set(pins.dev)
    assert installed == expected

    output = _bash(". .venv/bin/activate\n" + "\n".join(test_block), tmp_path, env, timeout=600)
    passed = re.search(r"(\d+) passed", output)
    assert passed, output[-3000:]
    assert int(passed[1]) == len(project.tests)
    assert " failed" not in output
    assert " error" not in output
    lines = output.strip().splitlines()
    lint = [line for line in lines if "checks passed" in line or "already formatted" in line]
    print(f"\n{name}: {len(installed)} packages as pinned; {'; '.join(lint)}; {lines[-1]}")

    port = _free_port()
    exports = [line for line in run_block if line.startswith("export ")]
    serve = [". .venv/bin/activate", *exports, f"exec uvicorn app.main:app --port {port}"]
    server = subprocess.Popen(
        ["bash", "-eo", "pipefail", "-c", "\n".join(serve)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        health = eventually_sync(
            lambda: httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).json(),
            ignoring=(httpx.TransportError,),
            timeout=30,
            what="the installed service answers /health",
        )
        assert health["status"] == "ok"
        ready = httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5)
        assert ready.json() == {"status": "ready"}, ready.text
    finally:
        server.terminate()
        server.wait(timeout=10)
