"""``wait=true``: answered by the worker that ran it, once the result is committed."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from devgen.kit.db import Database
from devgen.kit.events.tables import outbox
from devgen.kit.settings import Settings
from devgen.services.executor.models import Execution, ExecutionResult
from tests.helpers import Account
from tests.services.executor.api.conftest import Execute

HELLO = {"files": {"main.py": "print('hello')"}, "entry": "main.py"}


def _database(settings: Settings) -> Database:
    """The executor's database on a connection of its own: what is committed, nothing else."""
    return Database(settings.database.url_for("executor", settings.core.data_dir))


async def test_the_answer_is_the_execution_as_stored(
    client: httpx.AsyncClient, owner: Account, execute: Execute, settings: Settings
) -> None:
    response = await execute(**HELLO, wait=True)

    assert response.status_code == 200, response.text
    answered = response.json()["data"]
    database = _database(settings)
    try:
        async with database.read_session() as session:
            row = await session.get(Execution, uuid.UUID(answered["id"]))
            assert row is not None
            assert row.result_id is not None
            assert (row.status, row.verdict, row.owner) == ("finished", "succeeded", None)
            result = await session.get(ExecutionResult, row.result_id)
            assert result is not None
            assert result.stdout == b"hello\n"
    finally:
        await database.dispose()
    read_back = await client.get(f"/api/v1/executions/{answered['id']}", headers=owner.headers)
    assert read_back.json()["data"] == answered


async def test_its_events_are_queued_started_finished_in_that_order(
    execute: Execute, settings: Settings
) -> None:
    execution_id = (await execute(**HELLO, wait=True)).json()["data"]["id"]

    database = _database(settings)
    try:
        async with database.read_session() as session:
            types = list(
                await session.scalars(
                    select(outbox.c.type)
                    .where(outbox.c.subject == execution_id)
                    .order_by(outbox.c.position)
                )
            )
    finally:
        await database.dispose()
    assert types == [
        "executor.execution.queued",
        "executor.execution.started",
        "executor.execution.finished",
    ]
