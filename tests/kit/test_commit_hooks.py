"""``on_commit``: delivered once after a commit, never after a rollback."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from devgen.kit.commit_hooks import on_commit
from devgen.kit.db import Database


@pytest.fixture
async def database(tmp_path: Path):
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/hooks.db", strict=True)
    yield db
    await db.dispose()


async def test_items_of_one_key_are_delivered_together_after_the_commit(database):
    delivered: list[list[int]] = []
    async with database.transaction() as session:
        await session.execute(text("SELECT 1"))
        on_commit(session, "k", delivered.append, 1)
        on_commit(session, "k", delivered.append, 2)
        assert delivered == []  # not before the commit
    assert delivered == [[1, 2]]


async def test_nothing_is_delivered_after_a_rollback(database):
    delivered: list[list[int]] = []

    async def fail() -> None:
        async with database.transaction() as session:
            await session.execute(text("SELECT 1"))
            on_commit(session, "k", delivered.append, 1)
            raise LookupError

    with pytest.raises(LookupError):
        await fail()
    async with database.transaction() as session:  # the next transaction starts clean
        await session.execute(text("SELECT 1"))
    assert delivered == []


async def test_a_failing_hook_does_not_fail_the_commit(database):
    def broken(_items: list[object]) -> None:
        raise RuntimeError("hook bug")

    delivered: list[list[object]] = []
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
        on_commit(session, "a", broken)
        on_commit(session, "b", delivered.append)
    assert delivered == [[]]
