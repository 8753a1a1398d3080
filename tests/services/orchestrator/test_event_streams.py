"""The run event stream over a real connection: it ends when its credential stops holding,
and a user (or a tenant) may hold only so many at once.

The platform is served by uvicorn on a loopback port, because the in-process
transport hands over a response only once it has ended.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import jwt
import pytest

from tests.helpers import Account, assert_error, eventually, register
from tests.services.orchestrator.members import join
from tests.sse import DEADLINE_SECONDS, EventStream, served_over_http

REQUIREMENT = "A library lends books to members. Each book has a title and an ISBN."
RECHECK_SECONDS = 0.3
PER_USER = 2
PER_TENANT = 3
CLOSED = "orchestrator.stream.closed"


@pytest.fixture
def platform_services() -> tuple[str, ...]:
    """Identity for tokens and their revocation, the orchestrator under test."""
    return ("identity", "orchestrator")


@pytest.fixture(autouse=True)
def _stream_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    # No engine: a run stays pending, so its stream would stay open for ever.
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_ENGINE_ENABLED", "false")
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_STREAM_RECHECK_SECONDS", str(RECHECK_SECONDS))
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_STREAMS_PER_USER", str(PER_USER))
    monkeypatch.setenv("DEVGEN_ORCHESTRATOR_STREAMS_PER_TENANT", str(PER_TENANT))


@pytest.fixture
async def served(platform) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the (already started) platform served over real HTTP."""
    async with served_over_http(platform) as http:
        yield http


@pytest.fixture
async def owner(client) -> Account:
    """A signed-in tenant owner."""
    return await register(client)


@asynccontextmanager
async def streaming(http: httpx.AsyncClient, run_id: str, token: str) -> AsyncIterator[EventStream]:
    """An open event stream of ``run_id``, once its first (replayed) event has arrived."""
    async with http.stream(
        "GET", f"/api/v1/runs/{run_id}/events", headers={"Authorization": f"Bearer {token}"}
    ) as response:
        assert response.status_code == 200, await response.aread()
        stream = EventStream(response)
        async with asyncio.timeout(DEADLINE_SECONDS):
            first = await stream.next()
        assert first is not None
        assert first["event"] == "orchestrator.run.created", first
        yield stream


async def _run(client, account: Account) -> str:
    response = await client.post(
        "/api/v1/runs", json={"requirement": REQUIREMENT}, headers=account.headers
    )
    assert response.status_code == 202, response.text
    return str(response.json()["data"]["id"])


async def _opens_eventually(http: httpx.AsyncClient, run_id: str, account: Account) -> bool:
    async def opens() -> bool:
        async with http.stream(
            "GET", f"/api/v1/runs/{run_id}/events", headers=account.headers
        ) as response:
            if response.status_code == 200:
                return True
            assert response.status_code == 429, await response.aread()
            return False

    return bool(await eventually(opens, timeout=DEADLINE_SECONDS, what="a stream place freed"))


def _closed_because(events: list[dict]) -> str:
    assert events, "the stream ended without a closing event"
    assert events[-1]["event"] == CLOSED, events
    assert events[-1]["id"] is None
    return str(events[-1]["data"]["reason"])


async def test_a_stream_ends_after_its_user_signs_out_everywhere(client, served, owner):
    bystander = await register(client)
    runs = await _run(client, owner), await _run(client, bystander)
    async with (
        streaming(served, runs[1], bystander.access_token) as kept,
        streaming(served, runs[0], owner.access_token) as revoked,
    ):
        signed_out = await client.post(
            "/api/v1/auth/logout", json={"all_sessions": True}, headers=owner.headers
        )
        assert signed_out.status_code == 204, signed_out.text

        assert _closed_because(await revoked.rest()) == "credential_revoked"
        # Another user's stream, open all along, still follows its run to the end.
        cancelled = await client.post(f"/api/v1/runs/{runs[1]}/cancel", headers=bystander.headers)
        assert cancelled.status_code == 202, cancelled.text
        rest = await kept.rest()
        assert rest[-1]["event"] == "orchestrator.run.cancelled", rest
        assert CLOSED not in [event["event"] for event in rest]


async def test_a_stream_ends_when_its_member_is_removed_from_the_tenant(client, served, owner):
    member = await join(client, owner, "member")
    run_id = await _run(client, member)
    async with streaming(served, run_id, member.access_token) as stream:
        removed = await client.delete(
            f"/api/v1/tenants/{owner.tenant_id}/members/{member.user_id}", headers=owner.headers
        )
        assert removed.status_code == 204, removed.text

        assert _closed_because(await stream.rest()) == "credential_revoked"


async def test_a_stream_ends_when_its_token_expires(client, served, platform, owner):
    # Identity issues tokens for 30 s at the least; this one, signed with identity's own
    # key for the owner's real session, expires in 2 s.
    kid, key = await platform.state.upstream_apps["identity"].state.identity.keys.signing_key()
    claims = jwt.decode(owner.access_token, options={"verify_signature": False})
    now = int(time.time())
    claims |= {"jti": uuid.uuid4().hex, "iat": now, "nbf": now, "exp": now + 2}
    short_lived = jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid})
    run_id = await _run(client, owner)

    async with streaming(served, run_id, short_lived) as stream:
        assert _closed_because(await stream.rest()) == "credential_expired"


async def test_a_users_stream_beyond_the_limit_is_refused_while_others_stream(
    client, served, owner
):
    other = await register(client)
    run_id, others_run = await _run(client, owner), await _run(client, other)
    async with AsyncExitStack() as open_streams:
        for _ in range(PER_USER):
            await open_streams.enter_async_context(streaming(served, run_id, owner.access_token))

        refused = await served.get(f"/api/v1/runs/{run_id}/events", headers=owner.headers)

        error = assert_error(refused, 429, "RATE_LIMITED")
        assert error["details"]["per"] == "user"
        assert refused.headers["Retry-After"]
        async with streaming(served, others_run, other.access_token):
            pass
    # Closed streams give their places back, once the server has seen the disconnects.
    assert await _opens_eventually(served, run_id, owner)


async def test_a_tenants_stream_beyond_its_limit_is_refused_while_other_tenants_stream(
    client, served, owner
):
    member = await join(client, owner, "member")
    outsider = await register(client)
    run_id, outsiders_run = await _run(client, owner), await _run(client, outsider)
    async with AsyncExitStack() as open_streams:
        for account in [owner] * PER_USER + [member] * (PER_TENANT - PER_USER):
            await open_streams.enter_async_context(streaming(served, run_id, account.access_token))

        refused = await served.get(f"/api/v1/runs/{run_id}/events", headers=member.headers)

        error = assert_error(refused, 429, "RATE_LIMITED")
        assert error["details"]["per"] == "tenant"
        async with streaming(served, outsiders_run, outsider.access_token):
            pass
