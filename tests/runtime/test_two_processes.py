"""The distributed shape for real: identity and profile in processes of their own.

Profile learns who the caller is only from the token, which it verifies
against identity's JWKS, fetched over HTTP from the other process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.helpers import PASSWORD, unique_email
from tests.runtime.processes import DevgenProcess, devgen, isolated_env

pytestmark = pytest.mark.slow


@dataclass
class Pair:
    """The two running services."""

    identity: DevgenProcess
    profile: DevgenProcess


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    """``devgen serve identity`` and ``devgen serve profile`` on loopback ports."""
    workdir: Path = tmp_path_factory.mktemp("two-processes")
    with devgen(
        "serve", "identity", env=isolated_env(workdir / "identity"), workdir=workdir
    ) as identity:
        profile_env = isolated_env(workdir / "profile", DEVGEN_IDENTITY_URL=identity.url)
        with devgen("serve", "profile", env=profile_env, workdir=workdir) as profile:
            yield Pair(identity, profile)


def _jwks_requests(identity: DevgenProcess) -> float:
    """How many times identity served its JWKS, from its Prometheus metrics."""
    metrics = httpx.get(f"{identity.url}/metrics").text
    pattern = re.compile(
        r'^devgen_http_requests_total\{[^}]*route="/\.well-known/jwks\.json"[^}]*status="200"'
        r"[^}]*\} (\S+)$",
        re.MULTILINE,
    )
    return sum(float(value) for value in pattern.findall(metrics))


def _sign_in(identity: DevgenProcess, email: str) -> tuple[str, str]:
    """Register and sign in at identity; returns the user id and the access token."""
    account = {"email": email, "password": PASSWORD}
    with httpx.Client(base_url=identity.url) as client:
        registered = client.post("/api/v1/auth/register", json=account)
        assert registered.status_code == 201, registered.text
        tokens = client.post("/api/v1/auth/login", json=account)
        assert tokens.status_code == 200, tokens.text
    return registered.json()["data"]["user"]["id"], tokens.json()["data"]["access_token"]


def test_a_token_from_identity_works_at_profile(pair):
    user_id, token = _sign_in(pair.identity, unique_email())

    response = httpx.get(
        f"{pair.profile.url}/api/v1/profiles/me", headers={"Authorization": f"Bearer {token}"}
    )

    assert response.status_code == 200, response.text
    assert response.json()["data"]["user_id"] == user_id
    # Nobody but profile asks identity for its keys here: the count proves the fetch.
    assert _jwks_requests(pair.identity) >= 1


def test_profile_refuses_a_token_identity_never_signed(pair):
    forged = "eyJhbGciOiJFZERTQSIsImtpZCI6Im5vcGUifQ.eyJzdWIiOiJ4In0.c2ln"

    response = httpx.get(
        f"{pair.profile.url}/api/v1/profiles/me", headers={"Authorization": f"Bearer {forged}"}
    )

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "UNAUTHORIZED"


def test_each_process_reports_only_itself_in_health(pair):
    identity = httpx.get(f"{pair.identity.url}/health").json()
    profile = httpx.get(f"{pair.profile.url}/health").json()

    assert identity["service"] == "identity"
    assert profile["service"] == "profile"
    assert profile["dependencies"]["database"] == {"status": "ok", "detail": "sqlite"}
