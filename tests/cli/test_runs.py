"""``devgen runs list`` against a running ``devgen up``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, unique_email
from tests.runtime.processes import DevgenProcess, isolated_env
from tests.runtime.processes import devgen as devgen_process

pytestmark = pytest.mark.slow

SMALL = "A notebook app keeps notes. Each note has a title and a body."


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevgenProcess]:
    """``devgen up``: the all-in-one platform in a process of its own."""
    workdir: Path = tmp_path_factory.mktemp("up")
    with devgen_process("up", env=isolated_env(workdir / "data"), workdir=workdir) as running:
        yield running


@pytest.fixture
def started_run(server: DevgenProcess) -> Iterator[tuple[str, str]]:
    """A signed-up account's e-mail address and the id of a run it started (cancelled after)."""
    email = unique_email()
    with httpx.Client(base_url=server.url, timeout=30) as client:
        registered = client.post(
            "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        tokens = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {tokens.json()['data']['access_token']}"}
        started = client.post("/api/v1/runs", json={"requirement": SMALL}, headers=headers)
        assert started.status_code == 202, started.text
        run_id = started.json()["data"]["id"]
        yield email, run_id
        client.post(f"/api/v1/runs/{run_id}/cancel", json={}, headers=headers)


def test_runs_list_shows_whole_ids_on_a_narrow_terminal(devgen, server, started_run, monkeypatch):
    email, run_id = started_run
    signed_in = devgen("login", "--server", server.url, "--email", email, "--password", PASSWORD)
    assert signed_in.exit_code == 0, signed_in.output
    monkeypatch.setenv("COLUMNS", "80")

    result = devgen("runs", "list", "--server", server.url)

    assert result.exit_code == 0, result.output
    assert run_id in result.stdout, result.stdout
