"""The data directory is private, and the all-in-one's service secret lives in it."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from devgen.kit.settings import AuthSettings, CoreSettings, DatabaseSettings, Settings
from devgen.runtime.allinone import build_platform
from devgen.runtime.datadir import SECRET_FILE, ensure_service_secret, secure_data_dir
from devgen.runtime.standalone import build_service
from tests.helpers import register


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _settings(data_dir: Path, **auth: object) -> Settings:
    return Settings(
        core=CoreSettings(env="test", data_dir=data_dir),
        database=DatabaseSettings(database_url="sqlite+aiosqlite:///{data_dir}/{service}.db"),
        auth=AuthSettings(**auth),
    )


async def test_the_all_in_one_keeps_everything_it_writes_private(tmp_path):
    data_dir = tmp_path / "data"
    platform = build_platform(
        _settings(data_dir), services=("identity", "storage"), migrate_on_startup=True
    )
    import httpx

    async with platform.router.lifespan_context(platform):
        transport = httpx.ASGITransport(app=platform)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            await register(client)  # writes identity.db and its WAL
    assert _mode(data_dir) == 0o700
    files = [path for path in data_dir.rglob("*") if path.is_file()]
    assert {path.name for path in files} >= {SECRET_FILE, "identity.db", "storage.db"}
    assert {str(path.relative_to(data_dir)): _mode(path) for path in files} == {
        str(path.relative_to(data_dir)): 0o600 for path in files
    }
    assert [path for path in data_dir.rglob("*") if path.is_dir() and _mode(path) & 0o077] == []


def test_loose_modes_left_in_the_data_dir_are_tightened(tmp_path):
    data_dir = tmp_path / "data"
    (data_dir / "storage").mkdir(parents=True)
    data_dir.chmod(0o755)
    (data_dir / "storage").chmod(0o755)
    leaked = data_dir / "identity.db"
    leaked.write_text("keys")
    leaked.chmod(0o644)
    tightened = secure_data_dir(data_dir)
    assert set(tightened) == {data_dir, data_dir / "storage", leaked}
    assert (_mode(data_dir), _mode(data_dir / "storage"), _mode(leaked)) == (0o700, 0o700, 0o600)
    assert secure_data_dir(data_dir) == []


def test_the_generated_service_secret_is_long_private_and_kept(tmp_path):
    first = ensure_service_secret(_settings(tmp_path / "data"))
    secret = first.auth.service_secret
    assert secret is not None
    assert len(secret.get_secret_value()) >= 64
    assert _mode(tmp_path / "data" / SECRET_FILE) == 0o600
    again = ensure_service_secret(_settings(tmp_path / "data"))
    assert again.auth.service_secret == secret


def test_a_configured_secret_is_used_and_nothing_is_generated(tmp_path):
    configured = SecretStr("c" * 40)
    settings = ensure_service_secret(_settings(tmp_path / "data", service_secret=configured))
    assert settings.auth.service_secret == configured
    assert not (tmp_path / "data" / SECRET_FILE).exists()


def test_a_service_alone_refuses_to_build_without_a_secret(tmp_path):
    with pytest.raises(ValueError, match="DEVGEN_SERVICE_SECRET is not set"):
        build_service("identity", _settings(tmp_path / "data"))


@pytest.mark.parametrize("field", ["service_secret", "key_encryption_key"])
def test_secrets_shorter_than_32_bytes_are_refused(field):
    with pytest.raises(ValueError, match="at least 32"):
        AuthSettings(**{field: SecretStr("change-me")})
