"""``/validate`` with the real executor: a generated project's tests run in the sandbox.

The platform runs identity, the executor (bubblewrap sandbox) and codegen in process;
codegen reaches the executor through the chassis client, exactly as in production. The
executor builds its ``python-service`` environment once into a directory shared by the
test runs of this machine.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devgen.services.codegen.engines import generate
from devgen.services.codegen.engines.testplan import plan_tests
from devgen.services.codegen.spec import validate_spec
from tests.helpers import Account
from tests.services.executor.conftest import remove_state_dir

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("bwrap") is None or os.geteuid() != 0,
        reason="the sandbox needs bubblewrap and root",
    ),
]

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
ENVIRONMENTS = Path("/var/cache/devgen-executor/test-environments")
# Per test process, and far from the executor's own test ranges.
UID_BASE = 4_000_000 + random.Random(os.getpid()).randrange(100_000) * 10


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity, the executor and codegen."""
    return ("identity", "executor", "codegen")


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """The executor's state directory: traversable by the slot uids (tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="devgen-codegen-exec-", dir="/tmp"))
    os.chmod(path, 0o711)
    yield path
    # The executor's own clean-up: unmount what is left under it before deleting.
    remove_state_dir(path)


@pytest.fixture(autouse=True)
def executor_env(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
    """The executor's settings, read when its app starts; skipped without bubblewrap."""
    for name, value in {
        "DEVGEN_SANDBOX": "bwrap",
        "DEVGEN_EXECUTOR_STATE_DIR": str(state_dir),
        "DEVGEN_EXECUTOR_UID_BASE": str(UID_BASE),
        "DEVGEN_EXECUTOR_WORKERS": "2",
        "DEVGEN_EXECUTOR_ENVIRONMENTS_DIR": str(ENVIRONMENTS),
    }.items():
        monkeypatch.setenv(name, value)


async def test_a_generated_project_passes_its_tests_in_the_sandbox(
    client: httpx.AsyncClient, account: Account
) -> None:
    spec = validate_spec(json.loads((EXAMPLES / "todo.spec.json").read_text("utf-8")))
    files = generate(spec).files

    response = await client.post(
        "/api/v1/codegen/validate", json={"files": files}, headers=account.headers
    )

    assert response.status_code == 200, response.text
    data = response.json()["data"]
    tests = data["tests"]
    assert tests["verdict"] == "succeeded", (tests, data["diagnostics"])
    assert tests["status"] == "passed"
    assert tests["passed"] == len(plan_tests(spec))
    assert tests["coverage_percent"] >= 90
    assert data["ok"] is True
