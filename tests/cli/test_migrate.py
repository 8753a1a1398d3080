"""``devgen migrate``: every service's database created and brought to its newest schema."""

from __future__ import annotations

import sqlite3

from devgen.runtime.migrate import services_with_schema
from tests.cli.conftest import assert_clean_failure


def _revision(database) -> str:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def test_migrate_creates_every_service_database_in_a_fresh_directory(devgen, workspace):
    result = devgen("migrate")

    assert result.exit_code == 0, result.output
    for service in services_with_schema():
        database = workspace.data_dir / f"{service}.db"
        assert database.is_file(), service
        assert _revision(database) in result.stdout
        assert service in result.stdout


def test_migrate_twice_changes_nothing(devgen, workspace):
    devgen("migrate")
    before = _revision(workspace.data_dir / "identity.db")

    again = devgen("migrate")

    assert again.exit_code == 0, again.output
    assert _revision(workspace.data_dir / "identity.db") == before


def test_migrate_one_service_leaves_the_others_alone(devgen, workspace):
    result = devgen("migrate", "--service", "identity")

    assert result.exit_code == 0, result.output
    assert (workspace.data_dir / "identity.db").is_file()
    assert not (workspace.data_dir / "profile.db").exists()


def test_migrate_an_unknown_service_is_a_usage_error(devgen):
    assert_clean_failure(devgen("migrate", "--service", "nosuch"), 2, "unknown service 'nosuch'")


def test_migrate_a_service_without_a_database_is_a_usage_error(devgen):
    assert_clean_failure(devgen("migrate", "--service", "gateway"), 2, "has no database")


def test_an_unreachable_database_is_one_line_not_a_traceback(devgen, monkeypatch):
    monkeypatch.setenv(
        "DEVGEN_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:1/devgen_{service}"
    )

    assert_clean_failure(devgen("migrate"), 1, "Connect")


def test_invalid_settings_are_reported_before_anything_runs(devgen, monkeypatch):
    monkeypatch.setenv("DEVGEN_DATABASE_POOL_SIZE", "many")

    assert_clean_failure(devgen("migrate"), 2, "the settings are not valid", "database_pool_size")
