"""A tenant's audit policy cannot erase its trail: changes are recorded, floors hold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from devgen.kit.db import utcnow
from devgen.services.audit.models import AuditPolicy
from devgen.services.audit.retention import run_retention
from tests.helpers import assert_error, register
from tests.services.audit.conftest import audit_app, records, service_headers, wait_for_record

LEVELS, RETENTION = "/api/v1/audit/levels", "/api/v1/audit/retention"


async def _store_policy(platform, chain: str, **fields) -> None:
    """A policy as one stored before the floors existed (straight into audit's database)."""
    async with audit_app(platform).state.database.transaction() as session:
        session.add(AuditPolicy(chain=chain, updated_at=utcnow(), **({"levels": []} | fields)))


async def test_a_levels_change_is_a_record_in_the_tenants_chain(client, platform):
    account = await register(client)
    rules = [{"pattern": "storage.#", "level": "summary"}]
    saved = await client.put(
        LEVELS,
        json={"rules": rules},
        headers=account.headers | {"User-Agent": "policy-tests/1", "X-Request-ID": "req-lv-1"},
    )
    assert saved.status_code == 200, saved.text
    [record] = await records(platform, action="audit.policy.levels_changed")
    assert (record.chain, str(record.tenant_id), record.actor) == (
        account.tenant_id,
        account.tenant_id,
        f"user:{account.user_id}",
    )
    assert (record.resource_type, record.source, record.level) == ("policy", "audit", "full")
    assert (record.user_agent, record.request_id) == ("policy-tests/1", "req-lv-1")
    assert record.data == {"from": [], "to": rules}


async def test_a_retention_change_is_a_record_in_the_tenants_chain(client, platform):
    account = await register(client)
    saved = await client.put(RETENTION, json={"days": 90}, headers=account.headers)
    assert saved.status_code == 200, saved.text
    [record] = await records(platform, action="audit.policy.retention_changed")
    assert (record.chain, record.actor) == (account.tenant_id, f"user:{account.user_id}")
    assert record.data == {"from": None, "to": 90, "effective_days": 90}


@pytest.mark.parametrize(
    "pattern",
    ["#", "identity.#", "identity.login.succeeded", "*.login.*", "audit.#", "*.api_key.created"],
)
async def test_security_relevant_actions_cannot_be_levelled_to_none(client, platform, pattern):
    account = await register(client)
    kept = [{"pattern": "storage.#", "level": "none"}]
    assert (await client.put(LEVELS, json={"rules": kept}, headers=account.headers)).is_success
    rules = [{"pattern": "profile.#", "level": "full"}, {"pattern": pattern, "level": "none"}]
    refused = assert_error(
        await client.put(LEVELS, json={"rules": rules}, headers=account.headers), 422
    )
    assert "Rule 2" in refused["message"]
    assert refused["details"]["field"] == "rules[1]"
    assert refused["details"]["pattern"] == pattern
    got = await client.get(LEVELS, headers=account.headers)
    assert got.json()["data"]["rules"] == kept
    assert len(await records(platform, action="audit.policy.levels_changed")) == 1
    # Summarising them is allowed: who did what still stays.
    summarised = [{"pattern": pattern, "level": "summary"}]
    assert (
        await client.put(LEVELS, json={"rules": summarised}, headers=account.headers)
    ).is_success


async def test_rules_stored_before_the_floor_still_record_security_actions(client, platform):
    account = await register(client)
    await wait_for_record(platform, action="identity.user.registered", chain=account.tenant_id)
    await _store_policy(platform, account.tenant_id, levels=[{"pattern": "#", "level": "none"}])
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=account.headers
    )
    record = await wait_for_record(platform, action="identity.api_key.created")
    assert (record.level, record.data, record.resource_id) == (
        "summary",
        {},
        created.json()["data"]["id"],
    )


async def test_a_none_level_drops_other_actions(client, platform, settings):
    account = await register(client)
    rules = [{"pattern": "storage.file.read", "level": "none"}]
    assert (await client.put(LEVELS, json={"rules": rules}, headers=account.headers)).is_success
    headers = await service_headers(client, settings, on_behalf=account)
    for action, recorded in (("storage.file.read", False), ("storage.file.deleted", True)):
        body = {"action": action, "tenant_id": account.tenant_id}
        written = await client.post("/api/v1/audit/events", json=body, headers=headers)
        assert written.status_code == 201, written.text
        assert written.json()["metadata"]["recorded"] is recorded
    assert await records(platform, action="storage.file.read") == []


async def test_retention_below_the_floor_is_refused_and_changes_nothing(client, platform):
    account = await register(client)
    assert (await client.put(RETENTION, json={"days": 90}, headers=account.headers)).is_success
    for days in (1, 29):
        refused = assert_error(
            await client.put(RETENTION, json={"days": days}, headers=account.headers), 422
        )
        assert refused["details"] == {"field": "days", "minimum": 30}
        assert "DEVGEN_AUDIT_MIN_RETENTION_DAYS" in refused["message"]
    got = await client.get(RETENTION, headers=account.headers)
    assert got.json()["data"] == {"chain": account.tenant_id, "days": 90, "effective_days": 90}
    assert len(await records(platform, action="audit.policy.retention_changed")) == 1
    floor = await client.put(RETENTION, json={"days": 30}, headers=account.headers)
    assert floor.json()["data"]["effective_days"] == 30


async def test_a_retention_stored_below_the_floor_keeps_the_floor(client, platform, settings):
    account = await register(client)
    await _store_policy(platform, account.tenant_id, retention_days=1)
    headers = await service_headers(client, settings, on_behalf=account)
    body = {"action": "storage.file.read", "tenant_id": account.tenant_id}
    assert (await client.post("/api/v1/audit/events", json=body, headers=headers)).is_success
    got = await client.get(RETENTION, headers=account.headers)
    assert got.json()["data"]["effective_days"] == 30
    audit = audit_app(platform)
    async with audit.state.database.transaction() as session:
        await run_retention(
            session,
            audit.state.audit.signer,
            audit.state.audit.settings,
            utcnow() + timedelta(days=2),
        )
    assert len(await records(platform, action="storage.file.read")) == 1


async def test_level_rules_are_bounded_in_number_and_length(client):
    account = await register(client)
    many = [{"pattern": f"storage.file.v{n}", "level": "full"} for n in range(51)]
    long = [{"pattern": "a." * 100 + "b", "level": "full"}]
    for rules in (many, long):
        refused = assert_error(
            await client.put(LEVELS, json={"rules": rules}, headers=account.headers), 422
        )
        assert refused["details"]["errors"][0]["location"].startswith("body.rules")


async def test_hostile_level_rules_leave_audit_answering(client, platform):
    # Three rules of 98 '#' each froze the process for seconds per event
    # with a backtracking matcher. Now: the rules are stored, the next event
    # is recorded, and audit answers.
    account = await register(client)
    rules = [{"pattern": ".".join(["#"] * 98 + [f"n{n}"]), "level": "summary"} for n in range(3)]
    saved = await client.put(LEVELS, json={"rules": rules}, headers=account.headers)
    assert saved.status_code == 200, saved.text
    await client.post("/api/v1/auth/login", json={"email": account.email, "password": "x"})
    created = await client.post(
        "/api/v1/api-keys", json={"name": "ci", "scopes": ["read"]}, headers=account.headers
    )
    assert created.status_code == 201, created.text
    await wait_for_record(platform, action="identity.api_key.created")
    assert (await client.get("/health")).status_code == 200
    listed = await client.get("/api/v1/audit/events", headers=account.headers)
    assert listed.status_code == 200, listed.text
