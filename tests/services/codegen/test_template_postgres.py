"""A generated project's own tests pass on the real PostgreSQL server, not only on SQLite."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from devgen.services.codegen.analyst import analyze
from devgen.services.codegen.engines import generate
from tests import databases

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture
def postgres_server() -> str:
    """The server's URL as a generated project takes it (plain ``postgresql://``)."""
    reason = databases.postgres_unreachable_reason()
    if reason:
        if IN_CI:
            pytest.fail(reason)
        pytest.skip(reason)
    server = databases.POSTGRES_SERVER.replace("postgresql+asyncpg://", "postgresql://")
    return f"{server}/postgres"


@pytest.mark.postgres
@pytest.mark.slow
def test_the_library_example_passes_its_tests_on_postgresql(
    postgres_server: str, tmp_path: Path
) -> None:
    project = generate(analyze((EXAMPLES / "library.txt").read_text(encoding="utf-8")).spec)
    project.write(tmp_path)
    env = {**os.environ, "TEST_DATABASE_URL": postgres_server}

    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=280,
        check=False,
    )

    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    passed = re.search(r"(\d+) passed", output)
    assert passed, output[-3000:]
    assert int(passed[1]) == len(project.tests)
    # Each test's database was dropped after it, and the template after the run.
    assert not list(tmp_path.glob("*.db"))
