"""Storage's events are written to its outbox in the transaction of the change."""

from __future__ import annotations

import json

from sqlalchemy import select

from devgen.kit.events.tables import outbox
from tests.helpers import register
from tests.services.storage.support import ARTIFACTS, FILES, put_file, stored


async def _events(platform) -> list[dict]:
    database = platform.state.upstream_apps["storage"].state.database
    async with database.transaction() as session:
        rows = await session.execute(select(outbox.c.envelope).order_by(outbox.c.position))
        return [json.loads(envelope) for (envelope,) in rows]


async def test_every_change_emits_one_event(client, platform):
    account = await register(client)
    file = await stored(client, account, b"hello")
    await client.delete(f"{FILES}/{file['id']}", headers=account.headers)
    created = await client.post(
        ARTIFACTS, json={"files": {"a.py": "x = 1\n"}}, headers=account.headers
    )
    artifact = created.json()["data"]
    await client.delete(f"{ARTIFACTS}/{artifact['id']}", headers=account.headers)
    events = await _events(platform)
    assert [(e["type"], e["subject"]) for e in events] == [
        ("storage.file.uploaded", file["id"]),
        ("storage.file.deleted", file["id"]),
        ("storage.artifact.created", artifact["id"]),
        ("storage.artifact.deleted", artifact["id"]),
    ]
    for event in events:
        assert event["tenantid"] == account.tenant_id
        assert event["actor"] == f"user:{account.user_id}"
    assert events[0]["data"] == {
        "file_id": file["id"],
        "sha256": file["sha256"],
        "size": 5,
        "content_type": "text/plain",
    }
    assert events[2]["data"]["archive_sha256"] == artifact["archive_sha256"]


async def test_a_refused_change_emits_nothing(client, platform):
    account = await register(client)
    await put_file(client, account, b"x", labels="not json")
    await client.post(ARTIFACTS, json={"files": {"../x": ""}}, headers=account.headers)
    assert await _events(platform) == []
