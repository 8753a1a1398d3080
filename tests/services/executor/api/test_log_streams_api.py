"""Log streams end when their credential stops holding, and a user may hold only so many."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from tests.helpers import Account, assert_error, register
from tests.services.executor.api.conftest import Execute
from tests.sse import DEADLINE_SECONDS, EventStream, served_over_http

PER_USER = 2
# Quiet for longer than any test waits: only the credential check can end its stream early.
QUIET = "import time\nprint('started', flush=True)\ntime.sleep(40)\n"


@pytest.fixture
def executor_overrides() -> dict[str, str]:
    return {
        "DEVGEN_EXECUTOR_STREAM_RECHECK_SECONDS": "0.3",
        "DEVGEN_EXECUTOR_STREAMS_PER_USER": str(PER_USER),
        "DEVGEN_EXECUTOR_MAX_WALL_TIME_S": "60",
        "DEVGEN_EXECUTOR_WORKERS": str(PER_USER + 1),  # every quiet program runs at once
    }


@pytest.fixture
async def served(platform) -> AsyncIterator[httpx.AsyncClient]:
    async with served_over_http(platform) as http:
        yield http


async def _quiet_execution(execute: Execute, account: Account) -> str:
    response = await execute(
        account=account, files={"main.py": QUIET}, entry="main.py", limits={"wall_time_s": 50}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["data"]["id"])


@asynccontextmanager
async def _following(
    http: httpx.AsyncClient, execution_id: str, account: Account
) -> AsyncIterator[EventStream]:
    async with http.stream(
        "GET", f"/api/v1/executions/{execution_id}/logs", headers=account.headers
    ) as response:
        assert response.status_code == 200, await response.aread()
        stream = EventStream(response)
        async with asyncio.timeout(DEADLINE_SECONDS):
            while (event := await stream.next()) is not None and event["event"] != "stdout":
                pass  # up to the program's first line: it is running
        yield stream


async def test_a_log_stream_ends_after_its_user_signs_out_everywhere(
    client, served, execute, owner
):
    execution_id = await _quiet_execution(execute, owner)
    async with _following(served, execution_id, owner) as stream:
        signed_out = await client.post(
            "/api/v1/auth/logout", json={"all_sessions": True}, headers=owner.headers
        )
        assert signed_out.status_code == 204, signed_out.text
        events = await stream.rest()
    assert events, "the stream ended without saying why"
    assert (events[-1]["event"], events[-1]["data"]["reason"]) == ("closed", "credential_revoked")
    assert "end" not in [event["event"] for event in events]  # the program was still running


async def test_a_users_log_stream_beyond_the_limit_is_refused_while_others_stream(
    client, served, execute, owner
):
    other = await register(client)
    mine = [await _quiet_execution(execute, owner) for _ in range(PER_USER)]
    theirs = await _quiet_execution(execute, other)
    async with _following(served, mine[0], owner), _following(served, mine[1], owner):
        refused = await served.get(f"/api/v1/executions/{mine[0]}/logs", headers=owner.headers)
        error = assert_error(refused, 429, "RATE_LIMITED")
        assert error["details"]["per"] == "user"
        async with _following(served, theirs, other):
            pass  # another user is not held back
    async with _following(served, mine[0], owner):
        pass  # once closed, the places are given back
