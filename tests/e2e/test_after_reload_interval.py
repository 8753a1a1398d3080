"""Every service's main flow still works once identity's key-reload interval has passed.

The reload used to open a second transaction inside the request's own (a
sign-in holds SQLite's write lock): every sign-in after 30 s of idle time
waited for the busy timeout and answered 500. The interval is short here, and
each flow runs only after identity has reloaded its keys several times.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import eventually, login, register
from tests.services.executor.conftest import remove_state_dir
from tests.services.storage.support import stored

pytestmark = pytest.mark.slow

RELOAD_SECONDS = 0.2
UID_BASE = 7_000_000 + random.Random(os.getpid()).randrange(10_000) * 100
TERMINAL = {"succeeded", "failed", "cancelled"}
NOTEBOOK = "A notebook app keeps notes. Each note has a title and a body."


@pytest.fixture
def state_dir() -> Iterator[Path]:
    """The executor's state directory (the slot uids must traverse it; tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(prefix="devgen-reload-test-", dir="/tmp"))
    os.chmod(path, 0o711)
    yield path
    remove_state_dir(path)


@pytest.fixture(autouse=True)
def _short_intervals(monkeypatch: pytest.MonkeyPatch, state_dir: Path) -> None:
    monkeypatch.setenv("DEVGEN_SIGNING_KEY_RELOAD_SECONDS", str(RELOAD_SECONDS))
    monkeypatch.setenv("DEVGEN_EXECUTOR_STATE_DIR", str(state_dir))
    monkeypatch.setenv("DEVGEN_EXECUTOR_UID_BASE", str(UID_BASE))


async def _past_reloads(platform, reloads: int = 3) -> None:
    keys = platform.state.upstream_apps["identity"].state.identity.keys
    target = keys.reload_count + reloads
    await eventually(lambda: keys.reload_count >= target, timeout=30)


async def test_identity_signs_in_and_refreshes_after_reloads(client, platform):
    account = await register(client)
    await _past_reloads(platform)
    tokens = await login(client, account.email)
    await _past_reloads(platform)
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200, refreshed.text
    wrong = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": "not the password"}
    )
    assert wrong.status_code == 401, wrong.text  # recorded in its own transaction, no lock
    key = await client.post("/api/v1/api-keys", json={"name": "k"}, headers=account.headers)
    assert key.status_code == 201, key.text
    await _past_reloads(platform)
    me = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {key.json()['data']['secret']}"}
    )
    assert me.status_code == 200, me.text


async def test_profile_storage_executor_and_orchestrator_after_reloads(client, platform):
    account = await register(client)
    await _past_reloads(platform)
    account.access_token = (await login(client, account.email))["access_token"]
    profile = await client.patch(
        "/api/v1/profiles/me", json={"theme": "dark"}, headers=account.headers
    )
    assert profile.status_code == 200, profile.text
    await _past_reloads(platform)
    file = await stored(client, account, b"kept after a reload\n")
    assert file["size"] == len(b"kept after a reload\n")
    await _past_reloads(platform)
    execution = await client.post(
        "/api/v1/execute",
        json={"files": {"main.py": "print(6 * 7)"}, "entry": "main.py", "wait": True},
        headers=account.headers,
    )
    assert execution.status_code == 200, execution.text
    assert (execution.json()["data"]["result"] or {}).get("stdout") == "42\n", execution.text
    await _past_reloads(platform)
    project = await client.post(
        "/api/v1/projects",
        json={"name": "after reloads", "requirement": NOTEBOOK},
        headers=account.headers,
    )
    assert project.status_code == 201, project.text
    run = await client.post(
        "/api/v1/runs",
        json={"requirement": NOTEBOOK},
        headers=account.headers,
    )
    assert run.status_code == 202, run.text

    async def finished() -> dict | None:
        response = await client.get(
            f"/api/v1/runs/{run.json()['data']['id']}", headers=account.headers
        )
        data = response.json()["data"]
        return data if data["state"] in TERMINAL else None

    done = await eventually(finished, timeout=240)
    assert done["state"] == "succeeded", done["error"]
    assert done["tests"]["all_passed"] is True
