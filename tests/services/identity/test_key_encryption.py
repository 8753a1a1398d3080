"""Private signing keys at rest: encrypted with DEVGEN_KEY_ENCRYPTION_KEY when it is set."""

from __future__ import annotations

from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import select

from devgen.kit.auth.ed25519 import KeyEncryptionError
from devgen.runtime.allinone import build_platform
from devgen.services.audit.models import AuditSigningKey
from devgen.services.identity.models import SigningKey
from tests.helpers import login, register

KEK = SecretStr("a key-encryption key of at least 32 bytes")


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity signs tokens, audit signs checkpoints: both keep private keys."""
    return ("identity", "audit")


def _with_kek(settings, kek):
    auth = settings.auth.model_copy(update={"key_encryption_key": kek})
    return settings.model_copy(update={"auth": auth})


@asynccontextmanager
async def _running(settings):
    platform = build_platform(settings, services=("identity", "audit"), migrate_on_startup=False)
    async with platform.router.lifespan_context(platform):
        transport = httpx.ASGITransport(app=platform)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield platform, client


async def _stored_pems(platform) -> list[str]:
    pems = []
    for service, model in (("identity", SigningKey), ("audit", AuditSigningKey)):
        database = platform.state.upstream_apps[service].state.database
        async with database.transaction() as session:
            pems += list(await session.scalars(select(model.private_pem)))
    return pems


async def test_with_a_kek_no_private_key_is_stored_in_clear(settings):
    async with _running(_with_kek(settings, KEK)) as (platform, client):
        account = await register(client)
        me = await client.get("/api/v1/auth/me", headers=account.headers)
        assert me.status_code == 200, me.text
        pems = await _stored_pems(platform)
    assert len(pems) == 2
    assert all(pem.startswith("-----BEGIN ENCRYPTED PRIVATE KEY-----") for pem in pems)


async def test_keys_stored_before_a_kek_was_set_are_encrypted_and_keep_working(settings):
    async with _running(settings) as (platform, client):
        account = await register(client)
        assert all("BEGIN PRIVATE KEY" in pem for pem in await _stored_pems(platform))
    async with _running(_with_kek(settings, KEK)) as (platform, client):
        # The token signed before still verifies: the same key, now encrypted.
        assert (await client.get("/api/v1/auth/me", headers=account.headers)).status_code == 200
        assert (await login(client, account.email))["access_token"]
        assert all("ENCRYPTED" in pem for pem in await _stored_pems(platform))


@pytest.mark.parametrize("later", [None, SecretStr("another key-encryption key, 32 bytes+")])
async def test_encrypted_keys_without_the_right_kek_stop_start_up(settings, later):
    async with _running(_with_kek(settings, KEK)):
        pass
    with pytest.raises(KeyEncryptionError, match="DEVGEN_KEY_ENCRYPTION_KEY"):
        async with _running(_with_kek(settings, later)):
            pass
