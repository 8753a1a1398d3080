"""What reaches audit: every event, once, at the tenant's level; and what services write."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from devgen.kit.events.tables import outbox
from devgen.kit.metrics import REGISTRY
from tests.helpers import PASSWORD, assert_error, eventually, register, unique_email
from tests.services.audit.conftest import (
    records,
    service_headers,
    wait_for_record,
)


async def test_an_identity_event_becomes_a_record_in_its_tenants_chain(client, platform):
    email = unique_email()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": email, "password": PASSWORD},
        headers={"X-Request-ID": "req-audit-1", "User-Agent": "audit-tests/1"},
    )
    user_id = response.json()["data"]["user"]["id"]
    tenant_id = response.json()["data"]["tenant"]["id"]
    record = await wait_for_record(platform, action="identity.user.registered")
    assert (record.chain, str(record.tenant_id), record.seq) == (tenant_id, tenant_id, 1)
    assert (record.actor, record.resource_type, record.resource_id) == (
        f"user:{user_id}",
        "user",
        user_id,
    )
    assert (record.outcome, record.source, record.level) == ("success", "identity", "full")
    assert (record.request_id, record.ip, record.user_agent) == (
        "req-audit-1",
        "203.0.113.7",
        "audit-tests/1",
    )
    assert record.data["email"] == email
    assert record.prev_hash == "0" * 64
    assert len(record.hash) == 64


async def test_a_failed_sign_in_is_a_failure_in_the_platform_chain(client, platform):
    account = await register(client)
    await client.post("/api/v1/auth/login", json={"email": account.email, "password": "nope"})
    record = await wait_for_record(platform, action="identity.login.failed")
    assert (record.chain, record.tenant_id, record.outcome) == ("platform", None, "failure")
    assert record.resource_id == account.user_id


async def test_each_event_is_recorded_once_even_when_delivered_twice(client, platform):
    account = await register(client)
    await wait_for_record(platform, action="identity.user.registered")
    identity = platform.state.upstream_apps["identity"]
    relay = identity.state.relay
    # Everything relayed and marked first: a row still in flight when the
    # marks are cleared would be marked again, not published again.
    await eventually(
        lambda: _all_marked(identity), until=lambda done: done and not relay._in_flight
    )
    repeats_before = _duplicates_seen_by_audit()
    # The relay publishes everything again, as after a crash between publish and mark.
    async with identity.state.database.transaction() as session:
        await session.execute(update(outbox).values(sent_at=None))
    relay._cursor = 0
    relay.wake()
    # The positive control: an event written after the reset. The relay
    # publishes in outbox order and audit handles its queue in order, so once
    # the control is recorded every repeat before it has been delivered; a
    # second record of one of them would be there now.
    await client.post("/api/v1/auth/login", json={"email": account.email, "password": "nope"})
    await wait_for_record(platform, action="identity.login.failed")
    # The repeats did reach audit (else the counts below would prove nothing).
    await eventually(
        _duplicates_seen_by_audit,
        until=lambda seen: seen > repeats_before,
        what="audit absorbing a repeat",
    )
    assert len(await records(platform, action="identity.user.registered")) == 1
    assert len(await records(platform, action="identity.login.succeeded")) == 1


async def _all_marked(app) -> bool:
    async with app.state.database.transaction() as session:
        unsent = await session.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
    return unsent == 0


def _duplicates_seen_by_audit() -> float:
    sample = REGISTRY.get_sample_value(
        "devgen_events_handled_total", {"service": "audit", "outcome": "duplicate"}
    )
    return sample or 0.0


async def test_levels_summarise_event_types_per_tenant(client, platform):
    # Identity's events can be summarised but not dropped (test_policy.py);
    # dropping is shown with direct writes there.
    account = await register(client)
    levels = await client.put(
        "/api/v1/audit/levels",
        json={"rules": [{"pattern": "identity.api_key.created", "level": "summary"}]},
        headers=account.headers,
    )
    assert levels.status_code == 200, levels.text
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=account.headers
    )
    key_id = created.json()["data"]["id"]
    summary = await wait_for_record(platform, action="identity.api_key.created")
    assert (summary.level, summary.data, summary.resource_id) == ("summary", {}, key_id)


async def test_a_service_writes_a_record_directly_and_idempotently(client, platform, settings):
    account = await register(client)
    headers = await service_headers(client, settings, "storage", on_behalf=account)
    tenant_id, event_id = account.tenant_id, str(uuid.uuid4())
    body = {
        "id": event_id,
        "action": "storage.file.downloaded",
        "tenant_id": tenant_id,
        "actor": "user:someone",
        "resource_id": "file-1",
        "data": {"bytes": 12},
    }
    first = await client.post("/api/v1/audit/events", json=body, headers=headers)
    assert first.status_code == 201, first.text
    record = first.json()["data"]
    assert (record["source"], record["resource_type"], record["chain"]) == (
        "storage",
        "file",
        tenant_id,
    )
    again = await client.post("/api/v1/audit/events", json=body, headers=headers)
    assert again.status_code == 200
    assert again.json()["data"]["id"] == record["id"]
    assert len(await records(platform, event_id=event_id)) == 1


async def test_only_services_write_directly(client):
    account = await register(client)
    body = {"action": "storage.file.downloaded", "data": {}}
    response = await client.post("/api/v1/audit/events", json=body, headers=account.headers)
    assert_error(response, 403)
    assert_error(await client.post("/api/v1/audit/events", json=body), 401)


async def test_a_direct_write_is_validated(client, platform, settings):
    headers = await service_headers(client, settings)
    too_big = {"action": "storage.file.read", "data": {"blob": "x" * 70_000}}
    bad_type = {"action": "Not.A Type", "data": {}}
    unknown = {"action": "storage.file.read", "colour": "red"}
    assert_error(await client.post("/api/v1/audit/events", json=too_big, headers=headers), 413)
    for body in (bad_type, unknown):
        assert_error(await client.post("/api/v1/audit/events", json=body, headers=headers), 422)
    assert await records(platform, action="storage.file.read") == []
