"""The in-process bus loses nothing when the all-in-one process is killed and restarted.

``devgen up`` runs as a real process; events are produced over HTTP while it
is SIGKILLed mid-stream. After a restart on the same data, every event in
identity's outbox has exactly one audit record, and every account a profile.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from devgen.kit.db import Database
from devgen.kit.events.tables import outbox
from devgen.services.audit.models import AuditRecord
from devgen.services.identity.models import User
from devgen.services.profile.models import Profile
from tests.helpers import PASSWORD, eventually, unique_email
from tests.runtime.processes import devgen, isolated_env

pytestmark = pytest.mark.slow


async def _sign_up(http: httpx.AsyncClient) -> dict[str, str]:
    email = unique_email()
    registered = await http.post(
        "/api/v1/auth/register", json={"email": email, "password": PASSWORD}
    )
    assert registered.status_code == 201, registered.text
    tokens = await http.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {tokens.json()['data']['access_token']}"}


async def _make_keys(http: httpx.AsyncClient, headers: dict[str, str], stop: asyncio.Event) -> int:
    made = 0
    while not stop.is_set():
        try:
            response = await http.post(
                "/api/v1/api-keys", json={"name": f"k{made}", "scopes": ["read"]}, headers=headers
            )
        except httpx.TransportError:
            return made  # the server is gone
        made += response.status_code == 201
    return made


class _Databases:
    def __init__(self, data: Path) -> None:
        self.identity = Database(f"sqlite+aiosqlite:///{data}/identity.db")
        self.audit = Database(f"sqlite+aiosqlite:///{data}/audit.db")
        self.profile = Database(f"sqlite+aiosqlite:///{data}/profile.db")

    async def emitted(self) -> list[str]:
        async with self.identity.transaction() as session:
            return list(await session.scalars(select(outbox.c.event_id)))

    async def recorded(self) -> list[str]:
        async with self.audit.transaction() as session:
            query = select(AuditRecord.event_id).where(AuditRecord.source == "identity")
            return list(await session.scalars(query))

    async def users_without_profile(self) -> set:
        async with self.identity.transaction() as session:
            users = set(await session.scalars(select(User.id)))
        async with self.profile.transaction() as session:
            profiles = set(await session.scalars(select(Profile.user_id)))
        return users - profiles

    async def unsent(self) -> int:
        async with self.identity.transaction() as session:
            query = select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
            return int(await session.scalar(query) or 0)

    async def close(self) -> None:
        for database in (self.identity, self.audit, self.profile):
            await database.dispose()


async def test_a_killed_all_in_one_process_delivers_everything_once_after_restart(tmp_path):
    data = tmp_path / "data"
    env = isolated_env(data, DEVGEN_RATE_LIMIT_ENABLED="false", DEVGEN_RELAY_POLL_SECONDS="0.2")
    databases = _Databases(data)
    try:
        with devgen("up", env=env, workdir=tmp_path / "first") as first:
            async with httpx.AsyncClient(base_url=first.url, timeout=10) as http:
                headers = await _sign_up(http)
                stop = asyncio.Event()
                making = asyncio.create_task(_make_keys(http, headers, stop))
                await eventually(lambda: _at_least(databases, 30), timeout=60)
                os.kill(first.process.pid, signal.SIGKILL)
                first.process.wait()
                stop.set()
                with contextlib.suppress(httpx.TransportError):
                    await making
        emitted_before_restart = len(await databases.emitted())
        with devgen("up", env=env, workdir=tmp_path / "second") as second:
            async with httpx.AsyncClient(base_url=second.url, timeout=10) as http:
                await _sign_up(http)

                async def caught_up() -> bool:
                    return sorted(await databases.recorded()) == sorted(await databases.emitted())

                await eventually(caught_up, timeout=90)
                await eventually(lambda: _no_unsent(databases), timeout=30)
                # The positive control: a sign-up after everything else. Audit
                # handles identity's events in outbox order, so once its events
                # are recorded too, any repeat of an earlier one would be there.
                await _sign_up(http)
                await eventually(caught_up, timeout=30)
                recorded = await databases.recorded()
                assert [e for e, n in Counter(recorded).items() if n > 1] == []
                assert sorted(recorded) == sorted(await databases.emitted())
                assert len(recorded) > emitted_before_restart
                assert await databases.users_without_profile() == set()
    finally:
        await databases.close()


async def _at_least(databases: _Databases, count: int) -> bool:
    return len(await databases.emitted()) >= count


async def _no_unsent(databases: _Databases) -> bool:
    return await databases.unsent() == 0
