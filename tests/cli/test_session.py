"""``devgen login``, ``whoami`` and ``logout`` against a running ``devgen up``."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cli.conftest import assert_clean_failure
from tests.helpers import PASSWORD, unique_email
from tests.runtime.processes import DevgenProcess, free_port, isolated_env
from tests.runtime.processes import devgen as devgen_process

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevgenProcess]:
    """``devgen up``: the all-in-one platform in a process of its own."""
    workdir: Path = tmp_path_factory.mktemp("up")
    with devgen_process("up", env=isolated_env(workdir / "data"), workdir=workdir) as running:
        yield running


@pytest.fixture
def account(server: DevgenProcess) -> str:
    """A registered account's e-mail address (password ``PASSWORD``)."""
    email = unique_email()
    response = httpx.post(
        f"{server.url}/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return email


def _login(devgen, server: DevgenProcess, email: str, password: str = PASSWORD):
    return devgen("login", "--server", server.url, "--email", email, "--password", password)


def test_up_says_where_it_listens(server):
    log = server.log()

    assert f"devgen is up (all-in-one) at {server.url}/" in log
    assert f"health       {server.url}/health" in log


def test_login_keeps_the_tokens_in_a_file_only_the_user_can_read(
    devgen, workspace, server, account
):
    result = _login(devgen, server, account)

    assert result.exit_code == 0, result.output
    assert f"Signed in to {server.url} as {account}" in result.stdout
    path = workspace.config_dir / "devgen" / "credentials.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    stored = json.loads(path.read_text())
    assert stored["default"] == server.url
    assert stored["servers"][server.url]["email"] == account


def test_whoami_shows_the_account_and_its_workspace(devgen, server, account):
    _login(devgen, server, account)

    result = devgen("whoami")

    assert result.exit_code == 0, result.output
    assert account in result.stdout
    assert "owner" in result.stdout
    assert server.url in result.stdout


def test_whoami_renews_an_expired_access_token_with_the_refresh_token(
    devgen, workspace, server, account
):
    _login(devgen, server, account)
    path = workspace.config_dir / "devgen" / "credentials.json"
    stored = json.loads(path.read_text())
    stored["servers"][server.url]["access_token"] = "expired.token.value"
    path.write_text(json.dumps(stored))

    result = devgen("whoami")

    assert result.exit_code == 0, result.output
    assert account in result.stdout
    renewed = json.loads(path.read_text())["servers"][server.url]
    assert renewed["access_token"] != "expired.token.value"


def test_logout_forgets_the_session(devgen, server, account):
    _login(devgen, server, account)

    logged_out = devgen("logout")
    whoami = devgen("whoami")

    assert logged_out.exit_code == 0, logged_out.output
    assert f"Signed out of {server.url}" in logged_out.stdout
    assert_clean_failure(whoami, 1, "not signed in")


def test_a_wrong_password_is_refused_cleanly(devgen, server, account):
    result = _login(devgen, server, account, password="not the password")

    assert_clean_failure(result, 1, "sign-in refused")


def test_whoami_without_a_session_says_how_to_get_one(devgen):
    assert_clean_failure(devgen("whoami"), 1, "not signed in", "devgen login")


def test_a_server_that_is_not_running_is_reported_cleanly(devgen):
    down = f"http://127.0.0.1:{free_port()}"

    result = devgen("login", "--server", down, "--email", "a@example.com", "--password", PASSWORD)

    assert_clean_failure(result, 1, f"cannot reach {down}")


@pytest.fixture(scope="module")
def gateway_without_identity(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevgenProcess]:
    """The gateway alone, its identity URL pointing at a port nothing listens on."""
    workdir: Path = tmp_path_factory.mktemp("gateway")
    env = isolated_env(workdir / "data", DEVGEN_IDENTITY_URL=f"http://127.0.0.1:{free_port()}")
    with devgen_process("serve", "gateway", env=env, workdir=workdir) as running:
        yield running


def test_an_identity_outage_is_not_called_a_refused_sign_in(devgen, gateway_without_identity):
    url = gateway_without_identity.url

    result = devgen("login", "--server", url, "--email", "a@example.com", "--password", PASSWORD)

    assert_clean_failure(result, 1, f"identity is unreachable through {url}", "HTTP 502")
    assert "refused" not in result.stderr


def test_login_prompts_for_what_is_not_given(devgen, server, account):
    result = devgen("login", "--server", server.url, input=f"{account}\n{PASSWORD}\n")

    assert result.exit_code == 0, result.output
    assert f"Signed in to {server.url} as {account}" in result.stdout
