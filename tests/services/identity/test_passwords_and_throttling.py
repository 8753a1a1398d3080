"""Password hashing rules and per-account login back-off."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from devgen.services.identity.models import User
from devgen.services.identity.passwords import Passwords
from devgen.services.identity.settings import IdentitySettings
from tests.helpers import PASSWORD, assert_error, register, unique_email


def test_settings_refuse_argon2_parameters_below_owasp():
    with pytest.raises(ValueError, match="OWASP"):
        IdentitySettings(argon2_memory_kib=8192, argon2_time_cost=1)
    IdentitySettings(argon2_memory_kib=47104, argon2_time_cost=1)  # OWASP's other option


async def test_hashes_are_argon2id_with_configured_parameters():
    passwords = Passwords(IdentitySettings())
    digest = await passwords.hash(PASSWORD)
    assert digest.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert await passwords.verify(digest, PASSWORD)
    assert not await passwords.verify(digest, PASSWORD + " ")
    assert not await passwords.verify(None, PASSWORD)


async def test_login_rehashes_when_parameters_change(client, platform):
    account = await register(client)
    identity = platform.state.upstream_apps["identity"].state.identity
    stronger = Passwords(IdentitySettings(argon2_time_cost=3))
    object.__setattr__(identity, "passwords", stronger)
    response = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert response.status_code == 200
    async with identity.database.transaction() as session:
        user = await session.scalar(select(User).where(User.email == account.email))
    assert ",t=3," in user.password_hash


async def test_repeated_failures_lock_the_account_with_growing_back_off(client, platform):
    account = await register(client)
    state = platform.state.upstream_apps["identity"].state.identity
    free = state.settings.login_free_failures
    for _ in range(free):
        response = await client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": "wrong one"}
        )
        assert_error(response, 401)
    locked = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    error = assert_error(locked, 429, "RATE_LIMITED")
    assert int(locked.headers["Retry-After"]) >= 1
    assert error["details"]["retry_after_seconds"] >= 1


async def test_unknown_accounts_are_throttled_the_same_way(client):
    email = unique_email()
    for _ in range(5):
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong one"}
        )
        assert_error(response, 401)
    assert_error(
        await client.post("/api/v1/auth/login", json={"email": email, "password": "x"}), 429
    )


async def test_success_resets_the_failure_count(client):
    account = await register(client)
    for _ in range(4):
        await client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": "wrong one"}
        )
    ok = await client.post(
        "/api/v1/auth/login", json={"email": account.email, "password": PASSWORD}
    )
    assert ok.status_code == 200
    for _ in range(4):
        response = await client.post(
            "/api/v1/auth/login", json={"email": account.email, "password": "wrong one"}
        )
        assert_error(response, 401)


class _CountingHasher:
    """argon2's hasher, noting the hash each verification is checked against."""

    def __init__(self, hasher) -> None:
        self._hasher = hasher
        self.verified: list[str] = []

    def verify(self, hash_: str, password: str) -> bool:
        self.verified.append(hash_)
        return self._hasher.verify(hash_, password)

    def __getattr__(self, name: str):
        return getattr(self._hasher, name)


async def test_unknown_user_costs_the_same_argon2_work_as_a_wrong_password(
    client, platform, monkeypatch
):
    # Counted, not timed: a timing under load is noise, the work done is not.
    account = await register(client)
    passwords = platform.state.upstream_apps["identity"].state.identity.passwords
    counting = _CountingHasher(passwords._hasher)
    monkeypatch.setattr(passwords, "_hasher", counting)
    for email in (account.email, unique_email()):
        response = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong one"}
        )
        assert response.status_code == 401
    known, unknown = counting.verified
    # One argon2id verification each, with the same parameters (the decoy is a real hash).
    assert known.split("$")[1:4] == unknown.split("$")[1:4]
    assert known != unknown
