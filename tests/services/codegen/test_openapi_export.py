"""The template engine's OpenAPI export: a preloaded server, isolated, with a fallback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from devgen.services.codegen.engines import GeneratedProject, generate, openapi_export, postprocess
from devgen.services.codegen.engines.postprocess import PostprocessError, finish
from devgen.services.codegen.spec import ServiceSpec, validate_spec
from tests.helpers import eventually_sync

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc, forks")


def _spec(name: str) -> ServiceSpec:
    return validate_spec(json.loads((EXAMPLES / f"{name}.spec.json").read_text("utf-8")))


def _is_app(name: str) -> bool:
    return name == "app" or name.startswith("app.")


def _written(project: GeneratedProject, root: Path) -> Path:
    project.write(root)
    return root


def _gone(pid: int) -> bool:
    # A process reparented to an init that does not reap it stays a zombie: it is gone too.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


@pytest.fixture
def fresh_server() -> Iterator[None]:
    """No server running before the test, and none left after it."""
    openapi_export.shutdown()
    yield
    openapi_export.shutdown()


@pytest.fixture
def server_cannot_start(
    fresh_server: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server's script exits at once, as when its interpreter cannot run it."""
    script = tmp_path / "broken_server.py"
    script.write_text("raise SystemExit(3)\n", encoding="utf-8")
    monkeypatch.setattr(openapi_export, "_SERVER_SCRIPT", script)


@pytest.fixture(scope="module")
def library_project() -> GeneratedProject:
    return generate(_spec("library"))


@pytest.mark.parametrize("example", ["conference", "helpdesk"])
def test_an_export_imports_the_rendered_app_and_no_library(
    fresh_server: None, example: str, tmp_path: Path
) -> None:
    root = _written(generate(_spec(example), extensions=True), tmp_path)

    for _ in range(2):
        document, imported = openapi_export.export(root, timeout=120)
        # PRELOAD covers every library the template uses: the fork imports only ``app``.
        assert imported == []
        assert json.loads(document)["paths"]


def test_the_callers_interpreter_never_imports_the_rendered_app(
    library_project: GeneratedProject,
) -> None:
    assert not [name for name in sys.modules if _is_app(name)]

    generate(_spec("todo"))

    assert not [name for name in sys.modules if _is_app(name)]


def test_the_preloaded_export_gives_the_plain_subprocess_document(
    fresh_server: None, library_project: GeneratedProject, tmp_path: Path
) -> None:
    root = _written(library_project, tmp_path)

    document, _ = openapi_export.export(root, timeout=120)
    plain = postprocess._run([sys.executable, "-c", postprocess._OPENAPI_SCRIPT], root)

    assert document == plain == library_project.files["openapi.json"]


def test_a_server_that_cannot_start_leaves_generation_to_the_plain_subprocess(
    library_project: GeneratedProject, server_cannot_start: None, tmp_path: Path
) -> None:
    with pytest.raises(openapi_export.Unavailable, match="did not start"):
        openapi_export.export(tmp_path, timeout=120)

    project = generate(_spec("library"))

    assert project.files == library_project.files


def test_an_app_that_fails_to_load_is_reported_then_the_server_goes_on(
    fresh_server: None, library_project: GeneratedProject, tmp_path: Path
) -> None:
    files = dict(library_project.files)
    del files["openapi.json"]
    files["app/main.py"] += "\nraise RuntimeError('the rendered app is broken')\n"

    with pytest.raises(PostprocessError, match="the rendered app is broken"):
        finish(files, openapi_path="openapi.json")

    document, imported = openapi_export.export(_written(library_project, tmp_path), timeout=120)
    assert document == library_project.files["openapi.json"]
    assert imported == []


def test_exports_from_several_threads_each_describe_their_own_project(
    fresh_server: None, library_project: GeneratedProject
) -> None:
    todo = generate(_spec("todo"))
    specs = [_spec("library"), _spec("todo")] * 2

    with ThreadPoolExecutor(max_workers=4) as pool:
        projects = list(pool.map(generate, specs))

    assert [p.files["openapi.json"] for p in projects] == [
        library_project.files["openapi.json"],
        todo.files["openapi.json"],
    ] * 2


_CALLER = """
import json, os, sys
from pathlib import Path
from devgen.services.codegen.engines import generate
from devgen.services.codegen.spec import validate_spec
generate(validate_spec(json.loads(Path(sys.argv[1]).read_text())))
pid = os.getpid()
print(json.dumps([int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]))
sys.stdout.flush()
if sys.argv[2] == "wait":
    sys.stdin.read()
"""


def _caller(how: str) -> tuple[subprocess.Popen[str], list[int]]:
    caller = subprocess.Popen(
        [sys.executable, "-c", _CALLER, str(EXAMPLES / "todo.spec.json"), how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert caller.stdout is not None
    children: list[int] = json.loads(caller.stdout.readline())
    return caller, children


def test_the_server_ends_when_its_caller_exits() -> None:
    caller, children = _caller("exit")
    caller.communicate()

    assert caller.returncode == 0
    assert children  # the server, the one process still running after generate()
    for pid in children:
        eventually_sync(lambda pid=pid: _gone(pid), what=f"process {pid} ended")


def test_the_server_ends_when_its_caller_is_killed() -> None:
    caller, children = _caller("wait")
    os.kill(caller.pid, signal.SIGKILL)
    caller.communicate()

    assert children
    for pid in children:
        eventually_sync(lambda pid=pid: _gone(pid), what=f"process {pid} ended")


def test_shutdown_stops_the_server(fresh_server: None, library_project: GeneratedProject) -> None:
    generate(_spec("library"))
    pid = _server_pid()

    openapi_export.shutdown()

    assert _gone(pid)


def _server_pid() -> int:
    server: Any = openapi_export._server
    assert server is not None
    return int(server.process.pid)
