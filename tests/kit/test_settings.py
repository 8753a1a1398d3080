"""Settings validate at start and refuse unsafe production values."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from devgen.kit.settings import AuthSettings, DatabaseSettings, HttpSettings


def test_there_is_no_default_service_secret():
    assert AuthSettings().service_secret is None
    with pytest.raises(ValueError, match="DEVGEN_SERVICE_SECRET is not set"):
        AuthSettings().require_service_secret()
    secret = SecretStr("a-long-random-value-of-32-bytes!")
    assert AuthSettings(service_secret=secret).require_service_secret() == secret


def test_database_url_template_gives_each_service_its_own_database():
    settings = DatabaseSettings(database_url="postgresql+asyncpg://h/devgen_{service}")
    assert settings.url_for("identity", Path("x")) == "postgresql+asyncpg://h/devgen_identity"
    assert settings.is_per_service
    default = DatabaseSettings()
    assert default.url_for("profile", Path("/data")) == "sqlite+aiosqlite:////data/profile.db"


def test_comma_separated_lists_from_the_environment(monkeypatch):
    monkeypatch.setenv("DEVGEN_CORS_ORIGINS", "https://a.example, https://b.example")
    assert HttpSettings().cors_origins == ["https://a.example", "https://b.example"]


def test_invalid_values_fail_at_start(monkeypatch):
    monkeypatch.setenv("DEVGEN_ACCESS_TOKEN_TTL_SECONDS", "5")
    with pytest.raises(ValueError, match="access_token_ttl_seconds"):
        AuthSettings()
