"""``Database``'s transactions: one per task and database, and released when cancelled."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

from devgen.kit.db import Database, NestedTransactionError, record_and_raise

# Long enough that a cancellation lands while SQLite is still running it.
_SLOW_QUERY = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100000000) "
    "SELECT count(*) FROM c"
)


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    """A strict SQLite database with one table."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/t.db", strict=True)
    async with db.transaction() as session:
        await session.execute(text("CREATE TABLE t (x INTEGER)"))
    yield db
    await db.dispose()


async def _values(database: Database) -> list[int]:
    async with database.transaction() as session:
        return list((await session.scalars(text("SELECT x FROM t ORDER BY x"))).all())


async def test_a_second_transaction_in_the_same_task_is_an_error(database: Database) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO t VALUES (1)"))
        with pytest.raises(NestedTransactionError):
            async with database.transaction():
                pass
    assert await _values(database) == [1]


async def test_a_lenient_database_logs_a_nested_transaction_instead(tmp_path: Path) -> None:
    database = Database(f"sqlite+aiosqlite:///{tmp_path}/lenient.db")
    try:
        async with database.transaction(), database.transaction() as inner:
            assert await inner.scalar(text("SELECT 1")) == 1
    finally:
        await database.dispose()


async def test_joined_transaction_takes_part_in_the_callers(database: Database) -> None:
    async def write_then_fail() -> None:
        async with database.transaction() as outer:
            async with database.joined_transaction() as joined:
                assert joined is outer
                await joined.execute(text("INSERT INTO t VALUES (1)"))
            raise RuntimeError("undo")

    with pytest.raises(RuntimeError, match="undo"):
        await write_then_fail()
    assert await _values(database) == []


async def test_joined_transaction_outside_one_commits_its_own(database: Database) -> None:
    async with database.joined_transaction() as session:
        await session.execute(text("INSERT INTO t VALUES (7)"))
    assert await _values(database) == [7]


async def test_another_task_may_open_its_own_transaction(database: Database) -> None:
    async def elsewhere() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))

    async with database.transaction() as session:
        assert await session.scalar(text("SELECT 1")) == 1
        child = asyncio.create_task(elsewhere())  # inherits this context, not the transaction
    await child
    assert await _values(database) == [2]


async def test_record_and_raise_keeps_only_the_record(database: Database) -> None:
    async def record(session: object) -> None:
        await session.execute(text("INSERT INTO t VALUES (9)"))  # type: ignore[attr-defined]

    async def write_then_refuse() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            await record_and_raise(session, record, LookupError("refused"))

    with pytest.raises(LookupError):
        await write_then_refuse()
    assert await _values(database) == [9]


@pytest.mark.parametrize("cancellations", [1, 2])
@pytest.mark.parametrize("waiting_in", ["statement", "await"])
async def test_a_cancelled_transaction_releases_the_write_lock(
    database: Database, cancellations: int, waiting_in: str
) -> None:
    wrote = asyncio.Event()

    async def holder() -> None:
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (1)"))
            wrote.set()
            if waiting_in == "statement":
                await session.execute(text(_SLOW_QUERY))
            else:
                await asyncio.Event().wait()

    task = asyncio.create_task(holder())
    await wrote.wait()
    await asyncio.sleep(0.1)  # let the slow statement start in aiosqlite's thread
    for _ in range(cancellations):
        task.cancel()
        await asyncio.sleep(0)
    with pytest.raises(asyncio.CancelledError):
        await task
    # SQLite's busy timeout is 10 s: a lock still held would fail this, not slow it.
    async with asyncio.timeout(1):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (2)"))
    assert await _values(database) == [2]


async def test_a_read_session_lets_a_writer_commit_while_it_is_open(database: Database) -> None:
    # transaction() takes SQLite's write lock at BEGIN; a read session must not, or
    # every read-only request would queue behind (and in front of) every writer.
    async with database.read_session() as reader:
        assert await reader.scalar(text("SELECT count(*) FROM t")) == 0
        async with database.transaction() as writer:
            await writer.execute(text("INSERT INTO t VALUES (5)"))
        # The reader keeps the snapshot it started with.
        assert await reader.scalar(text("SELECT count(*) FROM t")) == 0
    assert await _values(database) == [5]


async def test_a_read_session_commits_nothing(database: Database) -> None:
    async with database.read_session() as reader:
        await reader.execute(text("INSERT INTO t VALUES (9)"))
    assert await _values(database) == []


async def test_a_read_session_is_not_the_tasks_transaction(database: Database) -> None:
    async with database.read_session():
        assert not database.in_transaction()
        async with database.transaction() as session:  # no NestedTransactionError
            await session.execute(text("INSERT INTO t VALUES (3)"))
    assert await _values(database) == [3]
