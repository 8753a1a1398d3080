"""Direct writes trust the token, not the body: its tenant is the chain, audit's clock the time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from tests.helpers import assert_error, register
from tests.services.audit.conftest import records, service_headers

WRITE = "/api/v1/audit/events"


async def test_a_service_token_of_one_tenant_cannot_write_into_another(client, platform, settings):
    mine, theirs = await register(client), await register(client)
    headers = await service_headers(client, settings, on_behalf=mine)
    body = {"action": "storage.file.deleted", "tenant_id": theirs.tenant_id, "resource_id": "x"}
    assert_error(await client.post(WRITE, json=body, headers=headers), 404)
    assert await records(platform, action="storage.file.deleted") == []
    # The same token writes its own tenant's chain.
    body["tenant_id"] = mine.tenant_id
    written = await client.post(WRITE, json=body, headers=headers)
    assert written.status_code == 201, written.text
    assert written.json()["data"]["chain"] == mine.tenant_id


async def test_a_tenantless_service_token_writes_only_the_platform_chain(
    client, platform, settings
):
    account = await register(client)
    headers = await service_headers(client, settings)
    body = {"action": "storage.file.deleted", "tenant_id": account.tenant_id}
    assert_error(await client.post(WRITE, json=body, headers=headers), 403)
    assert await records(platform, action="storage.file.deleted") == []
    written = await client.post(WRITE, json={"action": "storage.file.deleted"}, headers=headers)
    assert written.status_code == 201, written.text
    assert (written.json()["data"]["chain"], written.json()["data"]["tenant_id"]) == (
        "platform",
        None,
    )


async def test_a_tenant_service_token_cannot_write_the_platform_chain(client, platform, settings):
    account = await register(client)
    headers = await service_headers(client, settings, on_behalf=account)
    for body in (
        {"action": "storage.file.deleted"},
        {"action": "storage.file.deleted", "tenant_id": None},
    ):
        assert_error(await client.post(WRITE, json=body, headers=headers), 403)
    assert await records(platform, action="storage.file.deleted") == []


async def test_a_caller_cannot_choose_a_records_time(client, platform, settings):
    account = await register(client)
    headers = await service_headers(client, settings, on_behalf=account)
    body = {"action": "storage.file.deleted", "tenant_id": account.tenant_id}
    for name in ("time", "occurred_at", "recorded_at"):
        refused = await client.post(
            WRITE, json=body | {name: "2001-01-01T00:00:00Z"}, headers=headers
        )
        assert_error(refused, 422)
        assert name in refused.text
    assert await records(platform, action="storage.file.deleted") == []
    before = datetime.now(UTC)
    written = await client.post(WRITE, json=body, headers=headers)
    after = datetime.now(UTC)
    assert written.status_code == 201, written.text
    stamped = datetime.fromisoformat(written.json()["data"]["time"])
    assert before <= stamped <= after


async def test_an_id_recorded_in_another_chain_is_a_conflict_not_the_record(
    client, platform, settings
):
    mine, theirs = await register(client), await register(client)
    event_id = str(uuid.uuid4())
    body = {"id": event_id, "action": "storage.file.read", "resource_id": "secret-report.pdf"}
    first = await client.post(
        WRITE,
        json=body | {"tenant_id": theirs.tenant_id},
        headers=await service_headers(client, settings, on_behalf=theirs),
    )
    assert first.status_code == 201, first.text
    again = await client.post(
        WRITE,
        json=body | {"tenant_id": mine.tenant_id},
        headers=await service_headers(client, settings, on_behalf=mine),
    )
    assert_error(again, 409)
    assert "secret-report" not in again.text
    assert [r.chain for r in await records(platform, event_id=event_id)] == [theirs.tenant_id]


async def test_services_cannot_write_audits_own_actions(client, platform, settings):
    account = await register(client)
    headers = await service_headers(client, settings, on_behalf=account)
    body = {"action": "audit.policy.retention_changed", "tenant_id": account.tenant_id}
    assert_error(await client.post(WRITE, json=body, headers=headers), 422)
    assert await records(platform, action="audit.policy.retention_changed") == []
